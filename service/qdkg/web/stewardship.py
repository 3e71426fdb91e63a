"""Data stewardship over HTTP: /validate, SPARQL 1.1 Update at /update, the Graph Store Protocol
at /store, and the change sets (/changes, /changes/{seq}/revert). Thin over validation.py and
changes.py; writes need a bearer token (auth.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request

from ..auth import authorise
from ..changes import (
    WRITABLE_GRAPH,
    Effect,
    Rejected,
    WriteError,
    commit,
    graph_effect,
    revert_effect,
    update_effect,
)
from ..changeset import ChangeSet, change_graph
from ..closure import Diff
from ..conneg import negotiate
from ..errors import (
    ApiError,
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from ..pages import choose_language
from ..rdf_formats import FORMATS, content_type, serialize
from ..report import Report, compact
from ..runtime import refresh
from ..submission import FORMATS as SUBMISSION_FORMATS
from ..submission import GRAPH_MEDIA_TYPES, Submission, SubmissionError, parse
from ..terms import Triple, to_ox
from ..validation import Checked, ValidationTimeout, report_graph, report_of, validate_within
from . import runtime

bp = Blueprint("stewardship", __name__)


REPORT_TYPES = ["application/json", "text/turtle", "application/ld+json", "text/html"]
DATASET_TYPES = ["application/n-quads", "application/trig"]
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_WRITE_STATUS = {"syntax": 400, "read-only": 403, "not-found": 404, "conflict": 409,
                 "timeout": 503, "storage": 503}


@bp.before_app_request
def _catch_up() -> None:
    refresh(runtime())


# --- /validate ---------------------------------------------------------------------------------


@bp.get("/validate")
def validate_form() -> Response:
    """The page where people paste RDF to validate."""
    return _html(None, None, None, status=200)


@bp.post("/validate")
def validate() -> Response:
    data, media = _submitted_rdf()
    submission = _parse(data, media, SUBMISSION_FORMATS)
    rt = runtime()
    limit = rt.config.validation_time_limit
    try:
        checked, report = validate_within(rt, submission, limit)
    except ValidationTimeout:
        raise ServiceUnavailable(
            f"validating these {len(submission)} triples did not finish within the {limit:g}-"
            "second limit and was stopped; send them in smaller parts (a few thousand triples "
            "per request), or validate the file with `qdkg validate FILE`, which has no time "
            "limit") from None
    return _answer(checked, report, status=200, outcome=None)


def _submitted_rdf() -> tuple[bytes, str | None]:
    if request.mimetype in _FORMS:
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            return upload.read(), request.form.get("type") or upload.mimetype
        return request.form.get("data", "").encode("utf-8"), request.form.get("type")
    return request.get_data(), request.content_type


def _parse(data: bytes, media: str | None, allowed: dict | tuple) -> Submission:
    kind = (media or "").split(";")[0].strip().lower()
    if kind not in allowed:
        raise UnsupportedMediaType(
            f"unsupported media type '{kind or '(none)'}'; send one of: " + ", ".join(allowed))
    try:
        submission = parse(data, media, runtime().config.base_iri + "id/")
    except SubmissionError as error:
        if error.kind == "media-type":
            raise UnsupportedMediaType(error.message) from None
        raise BadRequest(error.message, line=error.line, column=error.column) from None
    # A submission is checked node by node; past the limit, split it (the curated files are
    # the place for bulk changes, see `qdkg export-changes`).
    limit = runtime().config.max_triples
    if len(submission) > limit:
        raise PayloadTooLarge(
            f"{len(submission)} triples is more than the {limit} checked in one request: split "
            f"the submission into parts of at most {limit} triples (keeping each resource's "
            "triples together) and send them one after another")
    return submission


# --- /update and /store writes -----------------------------------------------------------------


@bp.post("/update")
def update() -> Response:
    who = authorise(runtime().config, request.headers.get("Authorization"))
    if request.mimetype == "application/sparql-update":
        charset = request.mimetype_params.get("charset", "utf-8")
        try:  # strictly: a replacement character would be written into the graph
            sparql = request.get_data().decode(charset)
        except (UnicodeDecodeError, LookupError):
            raise BadRequest(f"the request body is not valid {charset} text") from None
    elif request.mimetype == "application/x-www-form-urlencoded":
        sparql = request.form.get("update", "")
    else:
        raise UnsupportedMediaType("send the update as application/sparql-update, or as the "
                                   "form field 'update' (application/x-www-form-urlencoded)")
    if not sparql.strip():
        raise BadRequest("the update is empty")
    for param in ("using-graph-uri", "using-named-graph-uri"):
        if param in request.args or param in request.form:
            raise BadRequest(f"{param} is not supported: name graphs with GRAPH in the update")
    return _write(who, "update", lambda: update_effect(runtime(), sparql))


@bp.route("/store", methods=["GET", "PUT", "POST", "DELETE"])
def graph_store() -> Response:
    graph = _target_graph()
    if request.method in ("GET", "HEAD"):
        return _read_graph(graph)
    who = authorise(runtime().config, request.headers.get("Authorization"))
    if graph is None or graph == "default":
        raise Forbidden("only ?graph=" + WRITABLE_GRAPH + " can be written: the default graph "
                        "is the read-only union of all graphs, and no new graphs are created")
    triples = []
    if request.method in ("PUT", "POST"):
        submission = _parse(request.get_data(), request.content_type, GRAPH_MEDIA_TYPES)
        triples = submission.triples
    method = request.method
    return _write(who, method.lower(), lambda: graph_effect(runtime(), graph, method, triples))


@bp.post("/changes/<int:seq>/revert")
def revert(seq: int) -> Response:
    who = authorise(runtime().config, request.headers.get("Authorization"))
    return _write(who, "revert", lambda: revert_effect(runtime(), seq), reverts=seq,
                  reason=f"Revert of change set {seq}")


@bp.get("/changes")
def changes() -> Response:
    journal = runtime().journal
    entries = [] if journal is None else [ChangeSet.from_record(e.record) for e in journal.read()]
    body = [{"changeSet": c.seq, "graph": change_graph(c.seq), "who": c.who, "when": c.when,
             "operation": c.operation, "reverts": c.reverts, "counts": _counts(c.diff)}
            for c in entries]
    response = Response(_json_dumps({"changes": body}), content_type="application/json")
    return response


def _flag(name: str) -> bool:
    value = request.args.get(name) or (request.form.get(name) if request.mimetype in _FORMS
                                       else None)
    return (value or "").lower() in ("1", "true", "yes", "on")


def _write(who: str, operation: str, effect_of: Callable[[], Effect],
           reverts: int | None = None, reason: str | None = None) -> Response:
    rt = runtime()
    dry_run = _flag("dry-run")
    reason = request.args.get("comment") or reason
    try:
        effect = effect_of()
        outcome = commit(rt, who, operation, effect, dry_run=dry_run, reason=reason,
                         reverts=reverts)
    except WriteError as error:
        raise ApiError(error.message, status=_WRITE_STATUS[error.kind]) from None
    except Rejected as rejected:
        return _answer(rejected.checked, report_of(rt, rejected.checked), status=422,
                       outcome=("rejected", None, rejected.dry_run))
    status = 201 if outcome.created and operation == "put" else 200
    state = "dry-run" if outcome.dry_run else ("committed" if outcome.seq else "unchanged")
    return _answer(outcome.checked, report_of(rt, outcome.checked), status=status,
                   outcome=(state, outcome.seq, outcome.dry_run))


# --- /store reads ------------------------------------------------------------------------------


def _target_graph() -> str | None:
    graph, default = request.args.get("graph"), "default" in request.args
    if graph is not None and default:
        raise BadRequest("give either ?graph=IRI or ?default, not both")
    if graph is not None and not graph.strip():
        raise BadRequest("?graph= needs an absolute IRI")
    return "default" if default else graph


def _read_graph(graph: str | None) -> Response:
    store = runtime().store
    if graph is None:
        media = negotiate(DATASET_TYPES, format_param=request.args.get("format"))
        body = serialize(store.quads(), media)
    else:
        if graph != "default" and graph not in store.named_graphs():
            raise NotFound(f"there is no graph <{graph}>; the graphs are listed at /sparql")
        media = negotiate(list(FORMATS), format_param=request.args.get("format"))
        quads: Iterable[ox.Quad] = store.quads(graph) if graph != "default" else (
            ox.Quad(q.subject, q.predicate, q.object) for q in store.quads())
        body = serialize(quads, media)
    response = Response(body, content_type=content_type(media))
    response.headers["Vary"] = "Accept"
    return response


# --- answers: a report, negotiated -------------------------------------------------------------


def _answer(checked: Checked, report: Report, status: int, outcome: Outcome | None) -> Response:
    lang = choose_language(request.args.get("lang"), request.headers.get("Accept-Language"))
    media = negotiate(REPORT_TYPES, format_param=request.args.get("format"))
    if media == "text/html":
        return _html(checked, report, outcome, status=status)
    if media == "application/json":
        body: dict = {"conforms": report.conforms}
        if outcome is not None:
            state, seq, dry_run = outcome
            body.update({"status": state, "dryRun": dry_run, "changeSet": seq,
                         "changeGraph": change_graph(seq) if seq else None,
                         "diff": _diff_json(checked.diff), "counts": _counts(checked.diff)})
        body["report"] = report.to_json(lang)
        response = Response(_json_dumps(body), content_type="application/json")
    else:
        graph = report_graph(checked)
        fmt = "turtle" if media == "text/turtle" else "json-ld"
        response = Response(graph.serialize(format=fmt, encoding="utf-8"),
                            content_type=content_type(media))
    response.status_code = status
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


Outcome = tuple[str, int | None, bool]  # status, change set, dry run


def _html(checked: Checked | None, report: Report | None, outcome: Outcome | None,
          status: int) -> Response:
    from .linked_data import href

    lang = choose_language(request.args.get("lang"), request.headers.get("Accept-Language"))
    page = render_template(
        "validation_report.html", report=report, checked=checked, outcome=outcome, lang=lang,
        text=TEXT, zh=lang == "zh", href=href, compact=compact, media_types=SUBMISSION_FORMATS,
        change_graph=change_graph,
        diff=_diff_json(checked.diff) if checked is not None and outcome else None,
        submitted=request.form.get("data", "") if request.mimetype in _FORMS else "",
        submitted_type=request.form.get("type", "text/turtle"),
    )
    response = Response(page, status=status, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


def _diff_json(diff: Diff) -> dict:
    def lines(triples: list[Triple]) -> list[str]:
        return [" ".join(str(to_ox(t)) for t in triple) + " ." for triple in triples]

    return {"asserted": {"added": lines(diff.asserted_added),
                         "removed": lines(diff.asserted_removed)},
            "inferred": {"added": lines(diff.inferred_added),
                         "removed": lines(diff.inferred_removed)}}


def _counts(diff: Diff) -> dict:
    return {"assertedAdded": len(diff.asserted_added),
            "assertedRemoved": len(diff.asserted_removed),
            "inferredAdded": len(diff.inferred_added),
            "inferredRemoved": len(diff.inferred_removed)}


def _json_dumps(body: object) -> str:
    import json

    return json.dumps(body, ensure_ascii=False, indent=1)


TEXT: dict[str, tuple[str, str]] = {
    "title": ("验证报告", "Validation report"),
    "form_title": ("验证 RDF", "Validate RDF"),
    "form_intro": ("粘贴或上传 RDF，按图谱中已有数据、本体及推理结果校验。不会写入任何内容。",
                   "Paste or upload RDF; it is checked against the stored graph, the ontology "
                   "and their inferences. Nothing is written."),
    "data": ("数据", "Data"), "file": ("文件", "File"), "syntax": ("格式", "Syntax"),
    "submit": ("验证", "Validate"),
    "conforms": ("符合约束", "Conforms"), "not_conforms": ("不符合约束", "Does not conform"),
    "violations": ("违规", "violations"), "warnings": ("警告", "warnings"),
    "infos": ("提示", "infos"), "no_results": ("未发现问题。", "No problems found."),
    "property": ("属性", "Property"), "message": ("说明", "Message"), "value": ("值", "Value"),
    "change": ("修改建议", "What to change"), "shape": ("约束", "Shape"),
    "severity": ("级别", "Severity"),
    "Violation": ("违规", "Violation"), "Warning": ("警告", "Warning"), "Info": ("提示", "Info"),
    "committed": ("已提交为变更集", "Committed as change set"),
    "dry-run": ("试运行：未提交任何内容", "Dry run: nothing was committed"),
    "unchanged": ("没有变化：数据已是这样", "No change: the data already says this"),
    "rejected": ("已拒绝：未作任何修改", "Rejected: nothing was changed"),
    "diff": ("变更内容", "What the change does"),
    "asserted_added": ("新增的断言三元组", "Asserted triples added"),
    "asserted_removed": ("删除的断言三元组", "Asserted triples removed"),
    "inferred_added": ("新增的推理三元组", "Inferred triples added"),
    "inferred_removed": ("删除的推理三元组", "Inferred triples removed"),
}
