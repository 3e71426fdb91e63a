"""The HTTP side of linked data: IRIs mapped to this service's URLs, the reader's language,
negotiation, and representations cached per store version with their ETag, Vary and Link headers.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Response, request

from .. import __version__
from ..conneg import negotiate
from ..page_cache import PageCache
from ..pages import LANGUAGES, choose_language
from ..rdf_formats import EXTENSION_TO_MEDIA, FORMAT_NAMES, FORMATS, content_type
from . import runtime

HTML = "text/html"
RDF_TYPES = list(FORMATS)
DOC_TYPES = ["text/turtle", HTML, *RDF_TYPES[1:]]  # Turtle for */*, HTML when a browser asks
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_CACHE = "linked_data"
PAGE_CACHE_BYTES = 32 * 1024 * 1024  # rendered representations kept per worker process


def base() -> str:
    return runtime().config.base_iri


def explicit_lang() -> str | None:
    lang = request.args.get("lang")
    return lang if lang in LANGUAGES else None


def reader_lang() -> str:
    return choose_language(request.args.get("lang"), request.headers.get("Accept-Language"))


def href(iri: str) -> str:
    """Where a reader follows `iri`: our own IRIs map onto this service, keeping ?lang."""
    canonical = base()
    if not iri.startswith(canonical):
        return iri
    path, _, fragment = iri[len(canonical):].partition("#")
    url = f"{request.script_root}/{path}"
    if explicit_lang():
        url += "?" + urlencode({"lang": explicit_lang()})
    return url + (f"#{fragment}" if fragment else "")


def service_root() -> str:
    return request.host_url.rstrip("/") + request.script_root


def thing_iri(rest: str) -> str:
    """The IRI a document path describes: `graph/…` names a graph, anything else an instance."""
    return base() + (rest if rest.startswith("graph/") else "id/" + rest)


def split_extension(rest: str) -> tuple[str, str | None]:
    stem, dot, ext = rest.rpartition(".")
    if dot and (ext in EXTENSION_TO_MEDIA or ext == "html"):
        return stem, EXTENSION_TO_MEDIA.get(ext, HTML)
    return rest, None


def extension(media: str) -> str:
    return "html" if media == HTML else FORMATS[media][0]


def state() -> dict[str, Any]:
    """This runtime's cache, emptied whenever the store changes.

    `refresh` (before every request) applies the change sets other processes accepted and
    counts them in `runtime.seq`, so a description read at one `seq` stays right until it moves.
    """
    rt = runtime()
    state = rt.cache.get(_CACHE)
    if not isinstance(state, dict) or state["version"] != rt.seq:
        state = {"version": rt.seq, "pages": PageCache(PAGE_CACHE_BYTES), "values": {},
                 "known": {}}
        rt.cache[_CACHE] = state
    return state


def versioned(name: str, compute: Callable[[], Any]) -> Any:
    """A value computed from the whole store (statistics, the ontology), once per store version."""
    values = state()["values"]
    if name not in values:
        values[name] = compute()
    return values[name]


@functools.cache
def _code_digest() -> str:
    """Part of every ETag: a new release or new templates change every representation."""
    digest = hashlib.sha256(__version__.encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted([*package.glob("templates/*.html"), *package.glob("*.py"),
                        *package.glob("web/*.py")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def respond(
    media: str,
    key: tuple[str, ...],
    make: Callable[[], tuple[str, Callable[[], bytes | str]]],
    *,
    alternates: str | None = None,
    negotiated: bool = True,
    links: tuple[str, ...] = (),
) -> Response:
    """A representation, cached per store version, with its ETag, Vary and Link headers.

    `make` reads the store and returns the content's digest and a function that renders it; the
    ETag comes from the digest, so a 304 is answered without rendering anything.
    """
    lang = reader_lang() if media == HTML else ""
    pages = state()["pages"]
    # Pages link back to their own URL (the language switch), so the query string is part of it.
    page_key = (*key, media, lang, request.query_string, request.script_root, request.host)
    held = pages.get(page_key)
    if held is None:
        content_key, body = make()
        etag = hashlib.sha256(
            f"{_code_digest()} {media} {lang} {explicit_lang()} {content_key}".encode()
        ).hexdigest()[:32]
        data = None if request.if_none_match.contains_weak(etag) else body()
        if data is not None:
            pages.put(page_key, etag, data)
    else:
        etag, data = held
    if request.if_none_match.contains_weak(etag) or data is None:
        response = Response(status=304)
    else:
        response = Response(data, content_type=content_type(media))
    response.set_etag(etag)
    vary = ["Accept"] if negotiated else []
    if media == HTML:
        vary.append("Accept-Language")
    if vary:
        response.headers["Vary"] = ", ".join(vary)
    header_links = list(links)
    if alternates is not None:
        header_links += [
            f'<{alternates}.{extension(m)}>; rel="alternate"; type="{m}"' for m in DOC_TYPES
        ]
        if negotiated:
            response.headers["Content-Location"] = f"{alternates}.{extension(media)}"
    if header_links:
        response.headers["Link"] = ", ".join(header_links)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = runtime().config.cors_origin
    response.headers["Access-Control-Expose-Headers"] = "Link, ETag, Content-Location, Vary"
    if media == HTML:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Language"] = lang
    return response


def formats(path: str) -> list[dict[str, str]]:
    query = f"?lang={explicit_lang()}" if explicit_lang() else ""
    return [
        {"name": FORMAT_NAMES[m], "media": m,
         "href": f"{path}.{extension(m)}" + (query if m == HTML else "")}
        for m in DOC_TYPES
    ]


def choose(fixed: str | None, offered: list[str]) -> str:
    return fixed or negotiate(offered, format_param=request.args.get("format"))
