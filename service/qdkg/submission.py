"""Reading submitted RDF in any common syntax, safely, with errors that say where the problem is.

pyoxigraph's parsers are used rather than rdflib's: they report line and column for every
syntax, never fetch a remote JSON-LD context (there is no document loader), never expand
external XML entities, and are about ten times faster. Nothing here follows `owl:imports`.
"""

from __future__ import annotations

import json
import re
import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import URIRef

from .terms import Triple, skolemize, triple_of

FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
GRAPH_MEDIA_TYPES = ("text/turtle", "application/n-triples", "application/ld+json",
                     "application/rdf+xml")
EXTENSIONS: dict[str, str] = {
    "ttl": "text/turtle", "trig": "application/trig", "nt": "application/n-triples",
    "nq": "application/n-quads", "jsonld": "application/ld+json", "json": "application/ld+json",
    "rdf": "application/rdf+xml", "owl": "application/rdf+xml", "xml": "application/rdf+xml",
}


class SubmissionError(Exception):
    """Input we cannot use; `kind` is "syntax" (400) or "media-type" (415)."""

    def __init__(self, message: str, kind: str = "syntax", line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.line = line
        self.column = column


@dataclass
class Submission:
    """Parsed triples (graph names dropped) with blank nodes replaced by fresh IRIs."""

    triples: list[Triple]
    blank_labels: dict[URIRef, str] = field(default_factory=dict)
    named_graphs: bool = False

    def __len__(self) -> int:
        return len(self.triples)


def media_type_for(path: Path) -> str:
    media = EXTENSIONS.get(path.suffix.lower().lstrip("."))
    if media is None:
        raise SubmissionError(
            f"{path}: cannot tell the syntax from the extension '{path.suffix}'; use one of "
            + ", ".join("." + e for e in EXTENSIONS), kind="media-type")
    return media


def parse(data: bytes, media_type: str | None, base_iri: str, source: str = "") -> Submission:
    """Parse `data` in the syntax named by `media_type` (parameters such as charset ignored)."""
    media = (media_type or "").split(";")[0].strip().lower()
    fmt = FORMATS.get(media)
    if fmt is None:
        raise SubmissionError(
            f"unsupported media type '{media or '(none)'}'; send one of: " + ", ".join(FORMATS),
            kind="media-type")
    if fmt == ox.RdfFormat.JSON_LD:
        _check_json_ld(data, source)
    elif fmt == ox.RdfFormat.RDF_XML:
        _check_xml_expansion(data, source)
    try:
        quads = list(ox.parse(data, fmt, base_iri=base_iri))
    except SyntaxError as error:
        line, column = _position(error, data, fmt)
        where = f" at line {line}, column {column}" if line is not None else ""
        reason = str(error.msg if hasattr(error, "msg") else error)
        raise SubmissionError(f"{_named(source)}syntax error{where}: {reason}", line=line,
                              column=column) from None
    triples, labels = skolemize(triple_of(q) for q in quads)
    named = any(not isinstance(q.graph_name, ox.DefaultGraph) for q in quads)
    return Submission(list(dict.fromkeys(triples)), labels, named)


def _position(error: SyntaxError, data: bytes, fmt: ox.RdfFormat) -> tuple[int | None, int | None]:
    if error.lineno is not None:
        return error.lineno, error.offset
    if fmt == ox.RdfFormat.RDF_XML:  # oxrdfxml names the problem but not the place; expat does
        parser = xml.parsers.expat.ParserCreate()
        try:
            parser.Parse(data, True)
        except xml.parsers.expat.ExpatError as xml_error:
            return xml_error.lineno, xml_error.offset + 1
    return None, None


def _check_json_ld(data: bytes, source: str) -> None:
    """Refuse remote contexts up front, with a message better than the parser's."""
    try:
        document = json.loads(data)
        remote = _remote_contexts(document)
    except RecursionError:
        # pyoxigraph's JSON-LD parser recurses too, and overflows its stack (a crash, not an
        # error) a few thousand levels down: refused before it runs.
        raise SubmissionError(f"{_named(source)}the JSON nests too deeply to be read; flatten "
                              "it (a few hundred levels at most)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        line = getattr(error, "lineno", None)
        column = getattr(error, "colno", None)
        where = f" at line {line}, column {column}" if line is not None else ""
        raise SubmissionError(f"{_named(source)}invalid JSON{where}: {error}", line=line,
                              column=column) from None
    if remote:
        raise SubmissionError(
            f"{_named(source)}remote JSON-LD contexts are not fetched ({', '.join(remote[:3])}); "
            "put the context inline as an object")


class _Refused(Exception):
    pass


_NAMED_REFERENCE = re.compile(r"&(?!(?:amp|lt|gt|quot|apos);)[A-Za-z_:]")


def _check_xml_expansion(data: bytes, source: str) -> None:
    """Refuse XML entities that expand far beyond the text ("billion laughs") before
    pyoxigraph's RDF/XML parser, which expands them without a limit (and slowly), runs.

    Entities defined in terms of other entities are refused outright (flat ones, such as the
    namespace abbreviations ontology editors write, are fine); expat streams the expanded text
    to a handler that counts it, and has its own amplification limit too. Other XML errors are
    left to pyoxigraph to report.
    """
    budget = [max(10 * len(data), 1_000_000)]

    def spend(size: int) -> None:
        budget[0] -= size
        if budget[0] < 0:
            raise _Refused("the XML's entities expand to more than ten times its size")

    def declared(name: str, _parameter: bool, value: str | None, *_rest: object) -> None:
        if value is not None and _NAMED_REFERENCE.search(value):
            raise _Refused(f"the XML entity '{name}' is defined in terms of other entities")

    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = declared
    parser.CharacterDataHandler = lambda text: spend(len(text))
    parser.StartElementHandler = lambda _name, attributes: spend(
        sum(len(value) for value in attributes.values()))
    try:
        parser.Parse(data, True)
    except _Refused as refusal:
        raise SubmissionError(f"{_named(source)}{refusal}; write the text out instead of "
                              "nesting entity definitions") from None
    except xml.parsers.expat.ExpatError as error:
        if "amplification" in str(error):
            raise SubmissionError(f"{_named(source)}the XML's entities expand too far ({error})"
                                  ) from None


def _remote_contexts(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        found.append(item)
                    elif isinstance(item, dict) and isinstance(item.get("@import"), str):
                        found.append(item["@import"])
            found += _remote_contexts(value)
    elif isinstance(node, list):
        for item in node:
            found += _remote_contexts(item)
    return found


def _named(source: str) -> str:
    return f"{source}: " if source else ""
