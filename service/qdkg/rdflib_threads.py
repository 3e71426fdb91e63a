"""rdflib's SPARQL parser is not safe to call from two threads at once.

It is built with pyparsing, whose parse actions keep state on shared grammar objects: two
threads parsing at the same time fail with errors such as `Param.postParse2() missing 1 required
positional argument` (rdflib issue 1282). A threaded worker parses queries and updates in
several places (the update endpoint, SERVICE checks, pySHACL's SPARQL constraints), so the
parser's entry points are wrapped with one lock for the whole process.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()
_MARK = "_qdkg_serialised"


def serialise_rdflib_parsing() -> None:
    """Make rdflib's parseQuery/parseUpdate take a process-wide lock (idempotent)."""
    from rdflib.plugins.sparql import parser, processor

    for name in ("parseQuery", "parseUpdate"):
        original = getattr(parser, name)
        if getattr(original, _MARK, False):
            continue
        wrapped = _locked(original)
        setattr(parser, name, wrapped)
        if hasattr(processor, name):  # it imported the names themselves
            setattr(processor, name, wrapped)


def _locked(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def parse(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return function(*args, **kwargs)

    setattr(parse, _MARK, True)
    return parse
