"""Linked data: every IRI the graph mints, dereferenceable as RDF for machines and HTML for people.

The Cool-URIs pattern (docs/decisions/0002-cool-uris.md): a thing's IRI `/id/{kind}/{slug}` (or a
named graph's `/graph/{name}`) answers 303 See Other with its document `/doc/{kind}/{slug}`
(`/doc/graph/{name}`), which is negotiated; `/doc/….ttl|.nt|.jsonld|.rdf|.trig|.nq|.html` name one
format. The ontology and the shapes use hash IRIs: `/ontology` and `/shapes` are documents (200,
negotiated). Also here: the home page, VoID at /.well-known/void, and helpful 404s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from urllib.parse import quote, urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request

from ..describe import (
    context_text,
    describe,
    exists,
    select,
    similar_iris,
    subject_iris,
    value_of,
)
from ..errors import NotFound, error_response
from ..namespaces import GRAPH_ONTOLOGY, GRAPH_SHAPES
from ..ontology_docs import build as build_ontology_doc
from ..ontology_docs import read_source
from ..pages import compact, ui
from ..rdf_formats import FORMATS, content_type, serialize
from ..resource_view import build_home, build_resource_page, home_rows, query_for, query_href
from ..runtime import refresh
from ..void import graph_triples, statistics, void_triples
from . import runtime
from .ld_responses import (
    CSP,
    DOC_TYPES,
    HTML,
    RDF_TYPES,
    base,
    choose,
    explicit_lang,
    extension,
    formats,
    href,
    reader_lang,
    respond,
    service_root,
    split_extension,
    state,
    thing_iri,
    versioned,
)

bp = Blueprint("linked_data", __name__)

KNOWN_CACHE_SIZE = 100_000  # IRIs whose existence is remembered; emptied when full


@bp.before_request
def _refresh() -> None:
    refresh(runtime())


@bp.app_context_processor
def _page_context() -> dict[str, object]:
    """For every template (the query page's too): the reader's language and the switch."""
    lang = reader_lang()

    def lang_url(code: str) -> str:
        args = request.args.to_dict()
        args["lang"] = code
        return f"{request.script_root}{request.path}?{urlencode(args)}"

    def nav(path: str) -> str:
        explicit = explicit_lang()
        return f"{request.script_root}{path}" + (f"?lang={explicit}" if explicit else "")

    return {"ui_lang": lang, "t": lambda key: ui(key, lang), "lang_url": lang_url, "nav": nav}


@bp.errorhandler(NotFound)
def _not_found(error: NotFound) -> Response:
    """People get a page with suggestions; programs get the usual text or JSON error."""
    best = request.accept_mimetypes.best_match([HTML, "text/plain", "application/json"])
    found = error.extra.get("suggestions")
    suggestions = [str(s) for s in found] if isinstance(found, list) else []
    if best != HTML:
        lines = "\n".join(f"  {s}" for s in suggestions)
        extra = {"did_you_mean": "\n" + lines} if lines else {}
        return error_response(404, error.message, **extra)
    page = render_template(
        "not_found.html",
        message=error.message,
        iri=error.extra.get("iri"),
        suggestions=[{"iri": s, "href": href(s), "compact": compact(s)} for s in suggestions],
    )
    response = Response(page, status=404, content_type=content_type(HTML))
    response.headers["Vary"] = "Accept, Accept-Language"
    response.headers["Content-Security-Policy"] = CSP
    return response


def _not_found_error(iri: str) -> NotFound:
    store = runtime().store
    try:
        ox.NamedNode(iri)
    except ValueError:
        return NotFound(f"{iri} is not a valid IRI, so the graph has nothing about it.", iri=iri)
    candidates = versioned("subjects", lambda: subject_iris(store, base()))
    suggestions = similar_iris(iri, candidates, base())
    return NotFound(
        f"The graph has nothing about {iri}. Browse from the home page ({request.script_root}/) "
        f"or search with SPARQL at {request.script_root}/query.",
        iri=iri,
        suggestions=suggestions or None,
    )


# --- things and their documents -------------------------------------------------------------


def _known(iri: str) -> bool:
    """Whether the store has anything about `iri` (remembered per store version)."""
    known = state()["known"]
    if iri not in known:
        try:
            if iri.startswith(base() + "graph/"):
                found = iri in runtime().store.named_graphs()
            else:
                found = exists(runtime().store, iri)
        except ValueError:
            found = False
        if len(known) >= KNOWN_CACHE_SIZE:
            known.clear()
        known[iri] = found
    return bool(known[iri])


def _see_other(rest: str) -> Response:
    iri = thing_iri(rest)
    if not _known(iri):
        stem, media = split_extension(rest)
        if media and _known(thing_iri(stem)):
            rest = f"{stem}.{extension(media)}"
        else:
            raise _not_found_error(iri)
    target = f"{request.script_root}/doc/{quote(rest)}"
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    response = Response(f"See Other: {target}\n", status=303, mimetype="text/plain")
    response.headers["Location"] = target
    response.headers["Link"] = f'<{target}>; rel="describedby"'
    response.headers["Cache-Control"] = "max-age=600"
    response.headers["Access-Control-Allow-Origin"] = runtime().config.cors_origin
    return response


@bp.get("/id/<path:rest>")
def thing(rest: str) -> Response:
    return _see_other(rest)


@bp.get("/graph/<path:name>")
def named_graph(name: str) -> Response:
    return _see_other(f"graph/{name}")


@bp.get("/doc/<path:rest>")
def document(rest: str) -> Response:
    rest, fixed = split_extension(rest)
    media = choose(fixed, DOC_TYPES)
    iri = thing_iri(rest)
    path = f"{request.script_root}/doc/{quote(rest)}"
    return respond(media, ("doc", iri), lambda: _describe(iri, media, path),
                    alternates=path, negotiated=fixed is None, links=(f'<{iri}>; rel="describes"',))


def _describe(iri: str, media: str, path: str) -> tuple[str, Callable[[], bytes | str]]:
    """Read the description of `iri`; return its digest and the function that renders it."""
    store = runtime().store
    try:
        description = describe(store, iri, page=media == HTML)
    except ValueError:
        raise _not_found_error(iri) from None
    if iri.startswith(base() + "graph/") and iri in store.named_graphs():
        count = select(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}")
        size = int(value_of(count[0]["n"]))
        description.add_computed(graph_triples(iri, size, base(), service_root()))
    if not description.exists:
        raise _not_found_error(iri)

    def html() -> str:
        page = build_resource_page(description, reader_lang(), href, _text_of)
        return render_template(
            "resource.html", page=page, formats=formats(path),
            query_link=query_href(f"{request.script_root}/query", page.query),
        )

    def rdf() -> bytes:
        return serialize(description.quads(), media)

    return description.digest(), html if media == HTML else rdf


def _text_of(context: str) -> str | None:
    return versioned(f"text {context}", lambda: context_text(runtime().store, context))


# --- the ontology and the shapes (hash IRIs: the IRI without its fragment is the document) ----


def _graph_quads(graph: str) -> tuple[list[ox.Quad], str]:
    """All of one graph (the ontology, the shapes) with a digest of its content."""

    def compute() -> tuple[list[ox.Quad], str]:
        query = f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
        node = ox.NamedNode(graph)
        rows = select(runtime().store, query)
        quads = [ox.Quad(r["s"], r["p"], r["o"], node) for r in rows]
        digest = hashlib.sha256("\n".join(sorted(map(str, quads))).encode()).hexdigest()
        return quads, digest

    return versioned(f"quads {graph}", compute)


def _ontology_document(fixed: str | None, path: str, graph: str) -> Response:
    """The ontology (or shapes) graph as RDF, or the documentation of both for people."""
    media = choose(fixed, DOC_TYPES)
    if media == HTML:
        lang = reader_lang()

        def html() -> str:
            source = versioned("ontology source", lambda: read_source(runtime().store))
            doc = build_ontology_doc(source, lang, href)
            return render_template(
                "ontology.html", doc=doc, formats=formats(path),
                query_link=query_href(f"{request.script_root}/query", query_for(doc.iri, False)),
            )

        def make_html() -> tuple[str, Callable[[], str]]:
            _, ontology = _graph_quads(str(GRAPH_ONTOLOGY))
            _, shapes_ = _graph_quads(str(GRAPH_SHAPES))
            examples = versioned("ontology source", lambda: read_source(runtime().store))
            used = repr(sorted(examples.class_examples.items()))
            used += repr(sorted((p, s, str(o)) for p, (s, o) in examples.property_examples.items()))
            return f"{ontology} {shapes_} {hashlib.sha256(used.encode()).hexdigest()}", html

        return respond(media, ("ontology", path), make_html,
                        alternates=path, negotiated=fixed is None)

    def make_rdf() -> tuple[str, Callable[[], bytes]]:
        quads, digest = _graph_quads(graph)
        return digest, lambda: serialize(quads, media)

    return respond(media, ("graph", graph, path), make_rdf,
                    alternates=path, negotiated=fixed is None)


def _version() -> str | None:
    quads, _ = _graph_quads(str(GRAPH_ONTOLOGY))
    for q in quads:
        if q.predicate.value == "http://www.w3.org/2002/07/owl#versionInfo":
            return value_of(q.object)
    return None


@bp.get("/ontology")
@bp.get("/ontology.<ext>")
def ontology(ext: str | None = None) -> Response:
    fixed = _fixed(ext)
    return _ontology_document(fixed, f"{request.script_root}/ontology", str(GRAPH_ONTOLOGY))


@bp.get("/ontology/<path:rest>")
def ontology_version(rest: str) -> Response:
    stem, fixed = split_extension(rest)
    current = _version()
    if stem != current:
        raise NotFound(
            f"There is no version '{stem}' of the ontology; the current version is {current} "
            f"at {request.script_root}/ontology/{current} (and always at "
            f"{request.script_root}/ontology).",
            iri=f"{base()}ontology/{stem}",
        )
    path = f"{request.script_root}/ontology/{quote(stem)}"
    return _ontology_document(fixed, path, str(GRAPH_ONTOLOGY))


@bp.get("/shapes")
@bp.get("/shapes.<ext>")
def shapes(ext: str | None = None) -> Response:
    return _ontology_document(_fixed(ext), f"{request.script_root}/shapes", str(GRAPH_SHAPES))


def _fixed(ext: str | None) -> str | None:
    if ext is None:
        return None
    _, media = split_extension("x." + ext)
    if media is None:
        raise NotFound(
            f"No format '.{ext}' here; use one of: "
            + ", ".join(f".{extension(m)}" for m in DOC_TYPES)
        )
    return media


# --- discovery -------------------------------------------------------------------------------


@bp.get("/.well-known/void")
@bp.get("/.well-known/void.<ext>")
def void(ext: str | None = None) -> Response:
    fixed = _fixed(ext)
    if fixed == HTML:
        raise NotFound(
            "The VoID description is RDF only: use .ttl, .nt, .jsonld, .rdf, .trig or .nq."
        )
    media = choose(fixed, RDF_TYPES)

    def make() -> tuple[str, Callable[[], bytes]]:
        stats = versioned("void", lambda: statistics(runtime().store, base()))
        triples = void_triples(stats, base(), service_root())
        quads = [ox.Quad(t.subject, t.predicate, t.object) for t in triples]
        digest = hashlib.sha256("\n".join(map(str, quads)).encode()).hexdigest()
        return digest, lambda: serialize(quads, media)

    response = respond(media, ("void",), make, negotiated=fixed is None)
    response.headers["Link"] = ", ".join(
        f'<{request.script_root}/.well-known/void.{FORMATS[m][0]}>; rel="alternate"; type="{m}"'
        for m in RDF_TYPES
    )
    return response


@bp.get("/")
def home() -> Response:
    """The home page for people; programs asking for RDF are sent to the VoID description."""
    void_link = f"{request.script_root}/.well-known/void"
    media = choose(None, [HTML, *RDF_TYPES])
    if media != HTML:
        response = Response(f"See Other: {void_link}\n", status=303, mimetype="text/plain")
        response.headers["Location"] = void_link
        response.headers["Vary"] = "Accept"
        return response
    lang = reader_lang()

    def make() -> tuple[str, Callable[[], str]]:
        rows = home_rows(runtime().store)

        def html() -> str:
            return render_template("home.html", sections=build_home(rows, lang, href))

        return hashlib.sha256(repr(rows).encode()).hexdigest(), html

    return respond(HTML, ("home",), make,
                    links=(f'<{void_link}>; rel="describedby"; type="text/turtle"',
                           f'<{request.script_root}/openapi.json>; rel="service-desc"; '
                           'type="application/openapi+json"'))
