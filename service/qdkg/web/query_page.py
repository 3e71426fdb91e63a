"""The query page: the editor page itself, its completion vocabulary and its example list."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from .. import examples as example_queries
from .. import vocabulary as vocab
from ..errors import ApiError, BadRequest
from ..pages import LANGUAGES, choose_language
from ..runtime import refresh
from ..store import StoreError
from . import runtime

bp = Blueprint("query_page", __name__)

VIEWS = ("table", "bar", "line")
MESSAGES_FILE = Path(__file__).resolve().parents[1] / "static" / "query" / "messages.json"
_HEADER_LINE = re.compile(r"^#\s*(title|description|view)(@\w+)?\s*:")

# The page loads only its own scripts and styles; CodeMirror styles itself through constructed
# stylesheets (not inline <style>), and draws lint underlines from data: SVG images.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


@lru_cache(maxsize=1)
def messages() -> dict[str, dict[str, str]]:
    """The page's own text in each language, shared by the template and the page's scripts."""
    loaded: dict[str, dict[str, str]] = json.loads(MESSAGES_FILE.read_text(encoding="utf-8"))
    return loaded


def page_language() -> str:
    """`?lang=` when given (and kept in the URL), else the best match for Accept-Language."""
    asked = request.args.get("lang")
    if asked is not None and asked not in LANGUAGES:
        raise BadRequest(f"lang must be one of {', '.join(LANGUAGES)}, not '{asked}'")
    return choose_language(asked, request.headers.get("Accept-Language"))


@bp.get("/query")
def page() -> Response:
    lang = page_language()
    view = request.args.get("view", "table")
    if view not in VIEWS:
        raise BadRequest(f"view must be one of {', '.join(VIEWS)}, not '{view}'")
    html = render_template(
        "query.html",
        lang=lang,
        m=messages()[lang],
        messages_json=json.dumps(messages()[lang], ensure_ascii=False),
        base_iri=runtime().config.base_iri,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.get("/query/vocabulary.json")
def vocabulary() -> Response:
    """Completion terms and labels, rebuilt only when the store's content changes."""
    state = runtime()
    cache: dict[str, Any] = current_app.extensions.setdefault("qdkg.query_vocabulary", {})
    try:
        refresh(state)
        version = vocab.version(state.store)
        if cache.get("version") != version:
            cache["body"] = json.dumps(vocab.vocabulary(state.store), ensure_ascii=False)
            cache["version"] = version
    except StoreError as error:
        message = f"the store could not be read for the completion vocabulary: {error}"
        raise ApiError(message, status=502) from None
    response = Response(cache["body"], mimetype="application/json")
    response.set_etag(version)
    response.headers["Cache-Control"] = "no-cache"
    response.make_conditional(request)
    return response


def editor_text(query: str) -> str:
    """The example as the editor shows it: the bilingual header is shown by the page instead."""
    lines = query.splitlines()
    while lines and (_HEADER_LINE.match(lines[0].strip()) or not lines[0].strip()):
        lines.pop(0)
    return "\n".join(lines).strip() + "\n"


@bp.get("/query/examples.json")
def examples() -> Response:
    return jsonify([
        {
            "name": example.name,
            "title": example.title,
            "description": example.description,
            "view": example.view if example.view in VIEWS else "table",
            "query": editor_text(example.query),
        }
        for example in example_queries.examples()
    ])
