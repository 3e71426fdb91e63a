"""Results cut at the row limit keep every term intact, in every format (the rows are counted
in pyoxigraph's line-based serialisations, so terms with line breaks and tabs must survive)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from qdkg.app import create_app
from qdkg.config import Config
from qdkg.runtime import Runtime
from qdkg.store import OxigraphStore

EX = "http://example.org/"
TRICKY = [
    ox.Literal("two\nlines"),
    ox.Literal("a\ttab and a \"quote\""),
    ox.Literal("carriage\rreturn", language="en"),
    ox.Literal("back\\slash <not an IRI>"),
    ox.Literal("城阳区", language="zh"),
    ox.Literal("42", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
    ox.NamedNode(EX + "o"),
    ox.BlankNode("b1"),
]
LIMIT = 5


@pytest.fixture(scope="module")
def store() -> OxigraphStore:
    store = OxigraphStore()
    graph = ox.NamedNode(EX + "g")
    store.raw.extend(ox.Quad(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(EX + "p"), term, graph)
                     for i, term in enumerate(TRICKY))
    return store


def _client(store: OxigraphStore, max_rows: int):  # type: ignore[no-untyped-def]
    config = Config(max_rows=max_rows, testing=True, result_cache_mb=0)
    return create_app(config, runtime=Runtime(config, store)).test_client()


@pytest.fixture(scope="module")
def limited(store):
    return _client(store, LIMIT)


def _rows(body: bytes, fmt: ox.QueryResultsFormat) -> list[tuple]:
    return [tuple(solution) for solution in ox.parse_query_results(body, fmt)]


@pytest.mark.parametrize("media, fmt", [
    ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
    ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
    ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
])
def test_solutions_cut_at_the_limit_keep_their_terms(store, limited, media, fmt):
    reply = limited.get("/sparql", query_string={"query": "SELECT ?s ?o WHERE { ?s ?p ?o }"},
                        headers={"Accept": media})
    assert reply.status_code == 200
    assert reply.headers["X-QDKG-Truncated"] == "true"
    assert reply.headers["X-QDKG-Row-Limit"] == str(LIMIT)
    rows = _rows(reply.data, fmt)
    assert len(rows) == LIMIT
    everything = {(q.subject, q.object) for q in store.raw}
    for subject, term in rows:
        if isinstance(term, ox.BlankNode):
            continue  # blank node labels are not kept across serialisations
        assert (subject, term) in everything


def test_every_row_under_the_limit_is_kept_exactly(store):
    client = _client(store, 100)
    reply = client.get("/sparql", query_string={"query": "SELECT ?o WHERE { ?s ?p ?o }"},
                       headers={"Accept": "application/sparql-results+json"})
    assert reply.status_code == 200 and "X-QDKG-Truncated" not in reply.headers
    terms = [row[0] for row in _rows(reply.data, ox.QueryResultsFormat.JSON)]
    assert sorted(str(t) for t in terms if not isinstance(t, ox.BlankNode)) == sorted(
        str(t) for t in TRICKY if not isinstance(t, ox.BlankNode))
    assert len(terms) == len(TRICKY)


def test_csv_keeps_line_breaks_in_values(limited):
    reply = limited.get("/sparql", query_string={
        "query": f'SELECT ?o WHERE {{ <{EX}s0> ?p ?o }}'}, headers={"Accept": "text/csv"})
    assert reply.status_code == 200
    assert reply.data == b'o\r\n"two\nlines"\r\n'


@pytest.mark.parametrize("media, fmt", [
    ("text/turtle", ox.RdfFormat.TURTLE),
    ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ("application/ld+json", ox.RdfFormat.JSON_LD),
    ("application/n-quads", ox.RdfFormat.N_QUADS),
    ("application/trig", ox.RdfFormat.TRIG),
])
def test_triples_cut_at_the_limit_in_every_format(store, limited, media, fmt):
    reply = limited.get("/sparql", query_string={
        "query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"}, headers={"Accept": media})
    assert reply.status_code == 200
    assert reply.headers["X-QDKG-Truncated"] == "true"
    parsed = list(ox.parse(reply.data, format=fmt))
    assert len(parsed) == LIMIT
    everything = {(q.subject, q.predicate, q.object) for q in store.raw}
    for item in parsed:
        if not isinstance(item.object, ox.BlankNode):
            assert (item.subject, item.predicate, item.object) in everything
