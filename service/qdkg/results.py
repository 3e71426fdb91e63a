"""Query results as bytes in a chosen format, cut at a row limit; DESCRIBE answers carry labels.

Also the tables of the formats offered and of the names clients use for them. Serialisation is
pyoxigraph's throughout (SPARQL JSON/XML/CSV/TSV, Turtle, N-Triples, JSON-LD, RDF/XML, N-Quads,
TriG). No Flask here: this runs in the process that evaluates the query.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import pyoxigraph as ox

from .store import SERIALIZATION_PREFIXES, QueryResult, Store

# canonical media type -> pyoxigraph format; the first entry of each table is the default
SOLUTION_FORMATS: dict[str, ox.QueryResultsFormat] = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/trig": ox.RdfFormat.TRIG,
}
DATASET_FORMATS = frozenset({"application/n-quads", "application/trig"})

_JSON, _XML = "application/sparql-results+json", "application/sparql-results+xml"
_TURTLE, _NT, _JSONLD = "text/turtle", "application/n-triples", "application/ld+json"
_RDFXML, _NQ, _TRIG = "application/rdf+xml", "application/n-quads", "application/trig"
_TSV = "text/tab-separated-values"
# What a client may ask for (Accept, or `format`) -> what we answer with. The canonical types come
# first in each table, in the order that makes the first one the answer to */*.
SOLUTION_ACCEPT = {m: m for m in SOLUTION_FORMATS} | {
    "application/json": _JSON, "application/xml": _XML, "text/xml": _XML,
}
GRAPH_ACCEPT = {m: m for m in GRAPH_FORMATS} | {
    "application/x-turtle": _TURTLE, "application/turtle": _TURTLE, "text/n3": _TURTLE,
    "application/x-json+ld": _JSONLD, "application/json": _JSONLD,
    "application/xml": _RDFXML, "text/xml": _RDFXML,
}
# `format=` names. SPARQLWrapper sends `format` (and `output`) with names like these, and
# `xml`/`json` mean different formats for SELECT and for CONSTRUCT.
SOLUTION_NAMES = {"json": _JSON, "srj": _JSON, "xml": _XML, "srx": _XML,
                  "csv": "text/csv", "tsv": "text/tab-separated-values"}
GRAPH_NAMES = {
    "turtle": _TURTLE, "ttl": _TURTLE, "n3": _TURTLE, "nt": _NT, "ntriples": _NT,
    "n-triples": _NT, "jsonld": _JSONLD, "json-ld": _JSONLD, "json": _JSONLD, "xml": _RDFXML,
    "rdf": _RDFXML, "rdfxml": _RDFXML, "rdf+xml": _RDFXML, "rdf/xml": _RDFXML, "nq": _NQ,
    "nquads": _NQ, "n-quads": _NQ, "trig": _TRIG,
}

_WITH_PREFIXES = frozenset({ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML})
_LABELS_QUERY = (
    "SELECT DISTINCT ?x ?label WHERE { VALUES ?x { %s } "
    "?x <http://www.w3.org/2000/01/rdf-schema#label> ?label }"
)
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    truncated: bool


def content_type(media_type: str) -> str:
    """The Content-Type header for a body we produced (always UTF-8)."""
    if media_type.startswith("text/") or media_type.endswith("xml"):
        return f"{media_type}; charset=utf-8"
    return media_type


def render(
    store: Store, result: QueryResult, media_type: str, max_rows: int, describe: bool = False
) -> Rendered:
    """`result` serialised as `media_type` (or the default of its kind if that does not fit)."""
    if isinstance(result, ox.QueryBoolean):
        media_type = _fit(media_type, SOLUTION_FORMATS)
        body = cast(bytes, result.serialize(format=SOLUTION_FORMATS[media_type]))
        return Rendered(body, media_type, False)
    if isinstance(result, ox.QuerySolutions):
        media_type = _fit(media_type, SOLUTION_FORMATS)
        return _render_solutions(result, media_type, max_rows)
    media_type = _fit(media_type, GRAPH_FORMATS)
    lines, truncated = _first_lines(result, ox.RdfFormat.N_TRIPLES, max_rows)
    if describe:
        triples = list(cast(Iterator[ox.Triple], ox.parse(lines, format=ox.RdfFormat.N_TRIPLES)))
        triples += labels_of_linked(store, triples)
        return Rendered(serialize_triples(triples, media_type), media_type, truncated)
    if media_type == _NT:
        return Rendered(lines, media_type, truncated)
    fmt = GRAPH_FORMATS[media_type]
    if media_type in DATASET_FORMATS:  # N-Triples is N-Quads in the default graph
        parsed = ox.parse(lines, format=ox.RdfFormat.N_QUADS)
    else:
        parsed = ox.parse(lines, format=ox.RdfFormat.N_TRIPLES)
    prefixes = SERIALIZATION_PREFIXES if fmt in _WITH_PREFIXES else None
    return Rendered(cast(bytes, ox.serialize(parsed, format=fmt, prefixes=prefixes)), media_type,
                    truncated)


def _fit(media_type: str, table: dict) -> str:
    return media_type if media_type in table else next(iter(table))


def _render_solutions(solutions: ox.QuerySolutions, media_type: str, max_rows: int) -> Rendered:
    # pyoxigraph serialises only whole result iterators, so the solutions are written as SPARQL
    # TSV (one line per row, after a line of variables) until the row after the limit, cut there,
    # and, for another format, re-read and written in it: every step is pyoxigraph's, in native
    # code, with no Python work per row.
    tsv, truncated = _first_lines(solutions, ox.QueryResultsFormat.TSV, max_rows + 1)
    if media_type == _TSV:
        return Rendered(tsv, media_type, truncated)
    kept = ox.parse_query_results(tsv, ox.QueryResultsFormat.TSV)
    body = cast(bytes, kept.serialize(format=SOLUTION_FORMATS[media_type]))
    return Rendered(body, media_type, truncated)


class _EnoughLines(Exception):
    """Raised from inside pyoxigraph's serialiser to stop it once the limit is passed."""


class _LineCounter:
    """A file for pyoxigraph's serialisers that keeps the first `limit` lines and stops there."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lines = 0
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.lines += chunk.count(b"\n")
        if self.lines > self.limit:
            raise _EnoughLines
        return len(data)

    def flush(self) -> None:
        pass

    def body(self) -> tuple[bytes, bool]:
        """The first `limit` lines, and whether there was more."""
        text = b"".join(self.parts)
        if self.lines <= self.limit:
            return text, False
        end = -1
        for _ in range(self.limit):
            end = text.index(b"\n", end + 1)
        return text[: end + 1], True


def _first_lines(
    result: ox.QuerySolutions | ox.QueryTriples,
    fmt: ox.QueryResultsFormat | ox.RdfFormat,
    limit: int,
) -> tuple[bytes, bool]:
    """The first `limit` lines of `result` in a line-based format (TSV, N-Triples), and whether
    it had more. Terms in these formats escape their line breaks, so a line is a row."""
    counter = _LineCounter(limit)
    try:
        result.serialize(counter, format=fmt)  # type: ignore[arg-type]
    except _EnoughLines:
        pass
    return counter.body()


def serialize_triples(
    triples: list[ox.Triple], media_type: str, prefixes: dict[str, str] = SERIALIZATION_PREFIXES
) -> bytes:
    fmt = GRAPH_FORMATS[media_type]
    used = prefixes if fmt in _WITH_PREFIXES else None
    if media_type in DATASET_FORMATS:
        quads = [ox.Quad(t.subject, t.predicate, t.object) for t in triples]
        return cast(bytes, ox.serialize(quads, format=fmt, prefixes=used))
    return cast(bytes, ox.serialize(triples, format=fmt, prefixes=used))


def labels_of_linked(store: Store, triples: list[ox.Triple]) -> list[ox.Triple]:
    """rdfs:label triples of the IRIs a description points to (objects and predicates).

    pyoxigraph's DESCRIBE gives the resource's own triples; a reader also needs the names of
    what they point at, so one more (bounded) query fetches them.
    """
    linked = {t.object for t in triples if isinstance(t.object, ox.NamedNode)}
    linked |= {t.predicate for t in triples}
    described = {t.subject for t in triples}
    present = {(t.subject, t.object) for t in triples if t.predicate == RDFS_LABEL}
    if not linked:
        return []
    values = " ".join(str(iri) for iri in sorted(linked - described, key=str))
    if not values:
        return []
    extra = []
    for row in cast(ox.QuerySolutions, store.query(_LABELS_QUERY % values)):
        subject, label = row[0], row[1]
        if (subject, label) not in present:
            extra.append(ox.Triple(subject, RDFS_LABEL, label))
    return extra
