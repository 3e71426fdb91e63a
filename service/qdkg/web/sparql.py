"""The SPARQL 1.1 Protocol endpoint (/sparql, queries only), the dataset dumps and /health.

Each query is inspected before it runs (sparql_guard: no SERVICE outside the allow-list, no
graphs from elsewhere, no updates), then evaluated by this worker's executor process, which
enforces the time limit and returns the result already serialised in the negotiated format.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Flask, Response, current_app, redirect, request
from flask.blueprints import BlueprintSetupState
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from werkzeug.wrappers import Response as BaseResponse
from werkzeug.wsgi import wrap_file

from .. import __version__
from ..conneg import negotiate
from ..errors import (
    ApiError,
    BadRequest,
    NotAcceptable,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from ..executor import (
    Executor,
    Job,
    QueryCrashed,
    QueryFailed,
    QueryTimeout,
    executor_for,
)
from ..result_cache import ResultCache
from ..results import (
    GRAPH_ACCEPT,
    GRAPH_NAMES,
    SOLUTION_ACCEPT,
    SOLUTION_NAMES,
    Rendered,
    content_type,
    serialize_triples,
)
from ..runtime import Runtime, refresh
from ..service_description import (
    ROW_LIMIT_HEADER,
    SD_PREFIXES,
    TRUNCATED_HEADER,
    describe_service,
)
from ..sparql_guard import QueryRefused, QueryShape, check, inspect, unknown_graphs_message
from ..store import OxigraphStore, StoreError, StoreTimeout
from . import runtime

log = logging.getLogger("qdkg")

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
QUERY_PAGE = "/query"
_EXECUTOR = "qdkg.executor"
_DESCRIPTIONS = "qdkg.service-descriptions"
_RESULT_CACHE = "qdkg.result-cache"
CACHE_HEADER = "X-Cache"

_JSON, _NQ, _TRIG = "application/sparql-results+json", "application/n-quads", "application/trig"
DUMP_FORMATS = {"nq": (_NQ, ox.RdfFormat.N_QUADS), "trig": (_TRIG, ox.RdfFormat.TRIG)}
_COUNT_QUADS = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
_QUAD_COUNT = "qdkg.quad-count"
_SYNTAX_POSITION = re.compile(r"^error at (\d+):(\d+): ?(.*)$", re.DOTALL)
# Answers that may differ from one evaluation to the next whatever the data: never cached. So
# are queries with SERVICE, whose endpoints change without the journal knowing.
_VOLATILE = re.compile(r"\b(?:NOW|RAND|UUID|STRUUID)\s*\(", re.IGNORECASE)


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> BaseResponse:
    params = _protocol_params()
    if "update" in params:
        raise BadRequest("/sparql answers queries only; send SPARQL Update requests to /update")
    queries = params.getlist("query")
    if not queries:
        if request.method == "POST":
            raise BadRequest(
                "no query: send the query as the 'query' form field "
                f"({FORM}) or as the request body ({SPARQL_QUERY})"
            )
        return _service_description(params)
    if len(queries) > 1:
        raise BadRequest(
            f"exactly one 'query' parameter is allowed; this request has {len(queries)}"
        )
    return _answer(queries[0], params)


def _answer(query: str, params: MultiDict[str, str]) -> BaseResponse:
    config = runtime().config
    size = len(query.encode("utf-8"))
    if size > config.max_query_bytes:
        raise PayloadTooLarge(
            f"the query is {size} bytes long; this endpoint accepts at most "
            f"{config.max_query_bytes} bytes of query text"
        )
    if _wants_html(params):
        return _to_query_page(params)
    try:
        shape = inspect(query)
        default_uris = params.getlist("default-graph-uri")
        named_uris = params.getlist("named-graph-uri")
        graphs = _graphs() if default_uris or named_uris or shape.has_dataset else []
        check(shape, allowlist=config.service_allowlist, graphs=graphs)
    except QueryRefused as refusal:
        raise BadRequest(str(refusal)) from None
    unknown = [g for g in default_uris + named_uris if g not in graphs]
    if unknown:
        where = "default-graph-uri / named-graph-uri"
        raise BadRequest(unknown_graphs_message(unknown, where, graphs))
    media = _choose(shape, params)
    default_graph: list[str] | None
    named_graphs: list[str] | None
    if default_uris or named_uris:  # the protocol's dataset replaces the query's (Protocol 2.1.4)
        default_graph, named_graphs = default_uris, named_uris
    elif shape.has_dataset:
        default_graph, named_graphs = shape.from_graphs, shape.from_named
    else:
        default_graph = named_graphs = None  # the union of all graphs, and all named graphs
    job = Job(query, default_graph, named_graphs, media, config.max_rows, shape.form == "DESCRIBE")
    cache, position = _result_cache(), -1
    if cache is not None and not shape.services and not _VOLATILE.search(query):
        key = (query, _frozen(default_graph), _frozen(named_graphs), media, config.max_rows)
        position = _position()
        rendered = cache.get(key, position) if position >= 0 else None
        if rendered is not None:
            return _respond(rendered, config.max_rows, "hit")
    try:
        answer = _executor().run(job, config.query_timeout)
    except SyntaxError as error:
        raise BadRequest(_syntax_message(str(error), query)) from None
    except QueryTimeout as timeout:
        reached = (
            f"ran for {timeout.wall_limit:g} s of elapsed time (the wall-clock limit, "
            f"{timeout.wall_limit / timeout.limit:g} x the {timeout.limit:g}-second time limit)"
            if timeout.wall else
            f"used more than the {timeout.limit:g}-second time limit (CPU time spent "
            "evaluating it)"
        )
        raise ServiceUnavailable(
            f"the query {reached} and was stopped; narrow it down (more specific patterns, "
            "LIMIT) and try again"
        ) from None
    except StoreTimeout as error:
        raise ServiceUnavailable(
            f"the store did not answer within the {config.query_timeout:g}-second time limit: "
            f"{error}"
        ) from None
    except StoreError as error:
        raise ApiError(f"the store could not answer the query: {error}", status=502) from None
    except QueryCrashed as error:
        log.warning("query engine crashed (%s) on a %d-byte query", error, len(query))
        raise BadRequest(
            "the query nests or chains too deeply for the engine to evaluate (its evaluation "
            "overflowed the stack); flatten the nesting or split the query"
        ) from None
    except QueryFailed as error:
        raise ApiError(f"the query could not be evaluated: {error}", status=500) from None
    if cache is None:
        return _respond(answer.rendered, config.max_rows)
    if position >= 0:
        cache.put(key, answer.position, answer.rendered)
    return _respond(answer.rendered, config.max_rows, "miss" if position >= 0 else None)


def _respond(rendered: Rendered, max_rows: int, cached: str | None = None) -> Response:
    response = Response(rendered.body, content_type=content_type(rendered.media_type))
    response.headers["Vary"] = "Accept"
    if rendered.truncated:
        response.headers[TRUNCATED_HEADER] = "true"
        response.headers[ROW_LIMIT_HEADER] = str(max_rows)
    if cached is not None:
        response.headers[CACHE_HEADER] = cached
    return response


def _frozen(iris: list[str] | None) -> tuple[str, ...] | None:
    return None if iris is None else tuple(iris)


def _result_cache() -> ResultCache | None:
    """This worker's result cache; None when it is off or the store is remote.

    A remote store can change without the journal knowing (its own clients, its own tools), so
    its answers are never kept.
    """
    cache = current_app.extensions.get(_RESULT_CACHE)
    if cache is None:
        rt = runtime()
        cache = ResultCache(0)
        if isinstance(rt.store, OxigraphStore) and not rt.shared_store:
            cache = ResultCache(int(rt.config.result_cache_mb * 1024 * 1024))
        cache = current_app.extensions.setdefault(_RESULT_CACHE, cache)
    return cache if cache.enabled else None


def _position() -> int:
    """This worker's journal position once it has caught up with the journal; -1 if it cannot."""
    rt = runtime()
    try:
        refresh(rt)
    except Exception:  # noqa: BLE001 - the executor reports the store's trouble; no caching
        log.exception("could not catch up with the change journal")
        return -1
    return rt.seq


def _protocol_params() -> MultiDict[str, str]:
    """The request's parameters, wherever the SPARQL protocol puts them for its method."""
    if request.method != "POST":
        return request.args
    if request.mimetype == FORM:
        _refuse_oversized_body(3)  # percent-encoding can triple the text
        return CombinedMultiDict([request.form, request.args])
    if request.mimetype == SPARQL_QUERY:
        _refuse_oversized_body(1)
        charset = request.mimetype_params.get("charset", "utf-8")
        try:
            query = request.get_data().decode(charset)
        except (UnicodeDecodeError, LookupError):
            raise BadRequest(f"the request body is not valid {charset} text") from None
        params = MultiDict(request.args)
        params.add("query", query)
        return params
    hint = " (send updates to /update)" if request.mimetype == "application/sparql-update" else ""
    raise UnsupportedMediaType(
        f"POST /sparql accepts Content-Type {FORM} (with a 'query' field) or {SPARQL_QUERY} "
        f"(the query as the body), not '{request.mimetype or 'none'}'{hint}"
    )


def _refuse_oversized_body(expansion: int) -> None:
    limit = runtime().config.max_query_bytes
    if request.content_length is not None and request.content_length > limit * expansion + 65536:
        raise PayloadTooLarge(
            f"the request body is {request.content_length} bytes; this endpoint accepts at most "
            f"{limit} bytes of query text"
        )


def _choose(shape: QueryShape, params: MultiDict[str, str]) -> str:
    """The media type to answer with: `format` (or `output`) first, then Accept."""
    graph = shape.form in ("CONSTRUCT", "DESCRIBE")
    accept, names = (GRAPH_ACCEPT, GRAPH_NAMES) if graph else (SOLUTION_ACCEPT, SOLUTION_NAMES)
    asked = params.getlist("format") + params.getlist("output")
    if asked:
        for value in asked:
            chosen = names.get(value.strip().lower()) or accept.get(value.strip().lower())
            if chosen:
                return chosen
        kind = "CONSTRUCT and DESCRIBE" if graph else "SELECT and ASK"
        raise NotAcceptable(
            f"format {', '.join(repr(a) for a in asked)} is not available for {kind} results; "
            f"choose one of: {', '.join(names)} (or a media type: {', '.join(accept)})"
        )
    header = request.headers.get("Accept", "").strip()
    if header in ("", "*/*") or header in accept:  # most clients: no need to parse q-values
        return accept.get(header) or next(iter(accept.values()))
    try:
        return accept[negotiate(list(accept))]
    except NotAcceptable:
        # Some clients send one Accept for every query form (rdflib's SPARQLStore asks for
        # SPARQL JSON even for CONSTRUCT): answer those in this form's default format.
        other = SOLUTION_ACCEPT if graph else GRAPH_ACCEPT
        if request.accept_mimetypes.best_match(list(other)):
            return next(iter(accept.values()))
        raise


def _wants_html(params: MultiDict[str, str]) -> bool:
    """A browser's GET: text/html named in Accept and preferred to every format we produce."""
    if request.method != "GET" or "format" in params or "output" in params:
        return False
    if "text/html" not in request.headers.get("Accept", ""):
        return False
    accepted = request.accept_mimetypes
    if not any(value == "text/html" and quality > 0 for value, quality in accepted):
        return False
    return accepted.best_match(["text/html", *SOLUTION_ACCEPT, *GRAPH_ACCEPT]) == "text/html"


def _to_query_page(params: MultiDict[str, str]) -> BaseResponse:
    """Browsers get the query page with the query filled in, not a raw result document."""
    names = ("query", "default-graph-uri", "named-graph-uri")
    keep = [(name, value) for name in names for value in params.getlist(name)]
    response = redirect(QUERY_PAGE + ("?" + urlencode(keep) if keep else ""), code=303)
    response.headers["Vary"] = "Accept"
    return response


def _syntax_message(message: str, query: str) -> str:
    """pyoxigraph's message, with the line and column spelled out and the line shown."""
    match = _SYNTAX_POSITION.match(message)
    if not match:
        return f"SPARQL syntax error: {message}"
    line, column, detail = int(match.group(1)), int(match.group(2)), match.group(3)
    lines = query.splitlines() or [""]
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return (
        f"SPARQL syntax error at line {line}, column {column}: {detail}\n"
        f"  {text}\n  {' ' * max(column - 1, 0)}^"
    )


def _graphs() -> list[str]:
    rt = runtime()
    try:
        refresh(rt)
        return rt.store.named_graphs()
    except StoreError as error:
        raise ApiError(f"the store could not list its graphs: {error}", status=502) from None


def _executor() -> Executor:
    executor = current_app.extensions.get(_EXECUTOR)
    if executor is None:
        executor = current_app.extensions.setdefault(_EXECUTOR, executor_for(runtime()))
    return executor


def start_executors(app: Flask, threads: int) -> None:
    """Fork this worker's executor (running up to `threads` queries at once) before it serves."""
    with app.app_context():
        executor = executor_for(runtime(), threads)
        app.extensions[_EXECUTOR] = executor
        executor.start()


def _service_description(params: MultiDict[str, str]) -> BaseResponse:
    if _wants_html(params):
        return _to_query_page(params)
    media = _choose(QueryShape(form="CONSTRUCT"), params)
    rt = runtime()
    graphs = tuple(_graphs())
    key = (request.base_url, request.url_root, media, graphs)
    cache = current_app.extensions.setdefault(_DESCRIPTIONS, {})
    body = cache.get(key)
    if body is None:
        triples = describe_service(request.base_url, request.url_root, rt.config, graphs)
        body = cache[key] = serialize_triples(triples, media, SD_PREFIXES)
    response = Response(body, content_type=content_type(media))
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/dump.<ext>")
@bp.get("/dump")
def dump(ext: str | None = None) -> Response:
    """The whole dataset, every graph, as N-Quads or TriG, for download."""
    if ext is None:
        wanted = request.args.get("format")
        if wanted:
            ext = wanted if wanted in DUMP_FORMATS else {_NQ: "nq", _TRIG: "trig"}.get(wanted)
            if ext is None:
                raise NotAcceptable(f"format {wanted!r} is not available; choose nq or trig")
        else:
            ext = {_NQ: "nq", _TRIG: "trig"}[negotiate([_NQ, _TRIG])]
    if ext not in DUMP_FORMATS:
        raise ApiError(f"no dump named dump.{ext}; available: /dump.nq, /dump.trig", status=404)
    media, fmt = DUMP_FORMATS[ext]
    rt = runtime()
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    try:
        refresh(rt)
        rt.store.dump(spool, fmt)
    except StoreError as error:
        spool.close()
        raise ApiError(f"the store could not be read: {error}", status=502) from None
    size = spool.tell()
    spool.seek(0)
    response = Response(
        wrap_file(request.environ, spool), content_type=content_type(media), direct_passthrough=True
    )
    response.content_length = size
    response.headers["Content-Disposition"] = f"attachment; filename=qdkg.{ext}"
    response.headers["Vary"] = "Accept"
    return response


@bp.record_once
def _count_before_fork(state: BlueprintSetupState) -> None:
    """Count the quads once, when the app is made (in gunicorn's master, before it forks).

    Reading pyoxigraph's in-memory store writes to the pages it reads, so a full scan in a
    worker or an executor would give that process its own copy of the store; counted here,
    before the fork, it costs no process its shared pages. /health reuses the count until the
    journal moves on.
    """
    rt = state.app.extensions["qdkg"]
    if isinstance(rt.store, OxigraphStore):
        state.app.extensions[_QUAD_COUNT] = (_journal_position(rt), len(rt.store))


def _journal_position(rt: Runtime) -> object:
    return getattr(rt, "seq", None)


@bp.get("/health")
def health() -> tuple[dict[str, object], int]:
    """Liveness of the store and of this worker's query executor, with the dataset's size."""
    rt = runtime()
    kind = "embedded" if isinstance(rt.store, OxigraphStore) else "remote"
    try:
        graphs = _graphs()
        position = _journal_position(rt)
        cached = current_app.extensions.get(_QUAD_COUNT)
        if cached is not None and cached[0] == position:
            _executor().run(Job("ASK {}", None, None, _JSON, 1), rt.config.query_timeout)
            quads = cached[1]
        else:
            job = Job(_COUNT_QUADS, None, None, _JSON, 1)
            counted = _executor().run(job, rt.config.query_timeout).rendered
            quads = int(json.loads(counted.body)["results"]["bindings"][0]["n"]["value"])
            current_app.extensions[_QUAD_COUNT] = (position, quads)
    except (ApiError, StoreError, QueryTimeout, QueryFailed) as error:
        message = error.message if isinstance(error, ApiError) else str(error)
        return {"status": "unavailable", "store": kind, "error": message}, 503
    body = {"status": "ok", "version": __version__, "store": kind, "quads": quads,
            "graphs": len(graphs)}
    return body, 200


@bp.after_request
def cors(response: Response) -> Response:
    """Reads are open to scripts on any origin (never with credentials)."""
    origin = runtime().config.cors_origin
    if not origin:
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = (
        f"{TRUNCATED_HEADER}, {ROW_LIMIT_HEADER}, {CACHE_HEADER}, Content-Disposition"
    )
    if origin != "*":
        response.vary.add("Origin")
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response
