"""Query results as bytes in a chosen format, cut at a row limit; DESCRIBE answers carry labels.

Also the tables of the formats offered and of the names clients use for them. Serialisation is
pyoxigraph's throughout (SPARQL JSON/XML/CSV/TSV, Turtle, N-Triples, JSON-LD, RDF/XML, N-Quads,
TriG). No Flask here: this runs in the process that evaluates the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
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
    triples = list(islice(result, max_rows + 1))
    truncated = len(triples) > max_rows
    del triples[max_rows:]
    if describe:
        triples += labels_of_linked(store, triples)
    return Rendered(serialize_triples(triples, media_type), media_type, truncated)


def _fit(media_type: str, table: dict) -> str:
    return media_type if media_type in table else next(iter(table))


def _render_solutions(solutions: ox.QuerySolutions, media_type: str, max_rows: int) -> Rendered:
    # pyoxigraph serialises only whole result iterators, so the rows we keep are written back as
    # SPARQL TSV (terms in their SPARQL syntax, which is what str() of a term gives) and
    # re-read: a few microseconds per row, and every output format stays pyoxigraph's.
    variables = solutions.variables
    rows = list(islice(solutions, max_rows + 1))
    truncated = len(rows) > max_rows
    lines = ["\t".join(str(v) for v in variables)]
    lines += ["\t".join(_tsv_term(t) for t in row) for row in rows[:max_rows]]
    kept = ox.parse_query_results(
        ("\n".join(lines) + "\n").encode("utf-8"), ox.QueryResultsFormat.TSV
    )
    body = cast(bytes, kept.serialize(format=SOLUTION_FORMATS[media_type]))
    return Rendered(body, media_type, truncated)


def _tsv_term(term: object) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.Triple):  # str() of a triple term lacks the <<( )>> brackets
        parts = (_tsv_term(term.subject), _tsv_term(term.predicate), _tsv_term(term.object))
        return "<<( {} {} {} )>>".format(*parts)
    return str(term)


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
