"""Request hygiene, before any view runs: text that is not UTF-8, percent-escapes that decode to
no character, and control characters where no parameter may hold them are a 400 with a message;
every response gets the headers that stop browsers from guessing at it.

Werkzeug decodes the path, the query string and url-encoded forms leniently: `%FF` becomes
U+FFFD and invalid UTF-8 is replaced, so a query or an IRI would silently differ from what was
sent. The raw bytes are checked here instead. Sizes are bounded elsewhere: the request line
(1 MB) and headers (8190 bytes each, 100 of them) by gunicorn, bodies by MAX_CONTENT_LENGTH,
forms by Werkzeug's max_form_memory_size, query text by config.max_query_bytes.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from flask import Flask, Response, request

from ..errors import BadRequest
from .ld_responses import CSP

FORM = "application/x-www-form-urlencoded"
# Bodies that are text by definition, checked for UTF-8 unless another charset is declared.
# RDF/XML is left out: its own XML declaration may name another encoding.
TEXT_BODIES = frozenset({
    FORM, "application/sparql-query", "application/sparql-update", "text/turtle",
    "application/x-turtle", "application/n-triples", "application/n-quads", "application/trig",
    "application/ld+json", "application/json", "text/plain",
})
# Parameters whose values are IRIs: no whitespace, no controls, none of <>"{}|^`\ (RFC 3987).
IRI_PARAMETERS = frozenset({
    "graph", "default-graph-uri", "named-graph-uri", "using-graph-uri", "using-named-graph-uri",
})
_NOT_IN_IRI = re.compile(r'[\x00-\x20\x7f-\x9f<>"{}|^`\\]')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, line feed and return are text
_CONTROL_IN_PATH = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def register(app: Flask) -> None:
    """Install the checks; call before the blueprints so they run first."""
    app.before_request(check_request)
    app.after_request(harden)


def check_request() -> None:
    environ = request.environ
    path = _utf8(environ.get("PATH_INFO", "").encode("latin-1"), "the URL path")
    if _CONTROL_IN_PATH.search(path):
        raise BadRequest("the URL path contains a control character; IRIs and paths cannot "
                         "hold them (percent-encoded or not)")
    query_string = environ.get("QUERY_STRING", "").encode("latin-1")
    _check_pairs(query_string, "the query string")
    if request.content_length != 0 and request.mimetype in TEXT_BODIES:
        charset = request.mimetype_params.get("charset", "utf-8").lower().replace("_", "-")
        if charset in ("utf-8", "utf8", "us-ascii", "ascii"):
            body = request.get_data(cache=True)
            if request.mimetype == FORM:
                _check_pairs(body, "the form body")
            else:
                _utf8(body, "the request body")


def _check_pairs(raw: bytes, where: str) -> None:
    """Every name and value of a url-encoded string decodes to UTF-8 text fit for its use."""
    if not raw:
        return
    for pair in raw.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        name = _utf8(_unescape(raw_name), f"a parameter name in {where}")
        value = _utf8(_unescape(raw_value), f"the parameter '{_show(name)}' in {where}")
        if _CONTROL.search(name):
            raise BadRequest(f"a parameter name in {where} contains a control character")
        if name in IRI_PARAMETERS:
            bad = _NOT_IN_IRI.search(value)
            if bad:
                raise BadRequest(
                    f"the parameter '{name}' must be an absolute IRI, and IRIs cannot contain "
                    f"{_describe(bad.group())} (found at character {bad.start() + 1})")
        elif _CONTROL.search(value):
            bad = _CONTROL.search(value)
            assert bad is not None  # noqa: S101 - just matched
            raise BadRequest(
                f"the parameter '{_show(name)}' in {where} contains the control character "
                f"{_describe(bad.group())} at character {bad.start() + 1}; only tab, line feed "
                "and carriage return are allowed in text")


def _unescape(raw: bytes) -> bytes:
    """Percent-decoding that refuses what Werkzeug would keep as literal text (`%FF` is fine,
    `%G1` or a lone `%` is not an escape at all)."""
    position = raw.find(b"%")
    while position != -1:
        escape = raw[position + 1 : position + 3]
        if len(escape) != 2 or not all(c in b"0123456789abcdefABCDEF" for c in escape):
            shown = raw[position : position + 3].decode("latin-1")
            raise BadRequest(
                f"'{_show(shown)}' is not a percent-escape: '%' must be followed by two hex "
                "digits (send a literal '%' as %25)")
        position = raw.find(b"%", position + 3)
    return unquote_to_bytes(raw.replace(b"+", b" "))


def _utf8(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = raw[error.start : error.start + 1].hex().upper()
        raise BadRequest(
            f"{where} is not valid UTF-8: byte 0x{byte} at position {error.start} does not "
            "belong to a UTF-8 character (percent-escapes such as %FF must decode to UTF-8 "
            "too); send text encoded as UTF-8") from None


def _describe(char: str) -> str:
    return "a space" if char == " " else f"U+{ord(char):04X}"


def _show(text: str) -> str:
    """Text from the request, safe to quote in a message (controls shown as escapes, short)."""
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[:60])
    return shown + ("…" if len(text) > 60 else "")


def harden(response: Response) -> Response:
    """No content sniffing anywhere; an HTML page without its own policy gets the strict one."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CSP)
    return response
