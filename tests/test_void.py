"""Discovery: /.well-known/void is a VoID description whose statistics match the store, in every
RDF format, with links to the SPARQL endpoint and the dumps; served by a real server process."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from qdkg.app import runtime_of
from qdkg.namespaces import BASE, QDKG, QG, VOID

FORMATS = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}
DATASET = URIRef(BASE + ".well-known/void#dataset")


def _get(url: str, accept: str) -> tuple[object, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})  # noqa: S310 (http, ours)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response, response.read()


def _parse(media: str, body: bytes) -> Graph:
    if media in ("application/trig", "application/n-quads"):
        dataset = Dataset()
        dataset.parse(data=body, format=FORMATS[media])
        merged = Graph()
        for s, p, o, _ in dataset.quads((None, None, None, None)):
            merged.add((s, p, o))
        return merged
    return Graph().parse(data=body, format=FORMATS[media])


@pytest.fixture(scope="module")
def void(server) -> Graph:
    response, body = _get(server.url + "/.well-known/void", "text/turtle")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/turtle")
    return Graph().parse(data=body, format="turtle")


def _count(app, query: str) -> int:
    return int(next(iter(runtime_of(app).store.query(query)))["n"].value)


def _int(graph: Graph, subject, predicate) -> int:
    value = graph.value(subject, predicate)
    assert value is not None, f"no {predicate} on {subject}"
    return int(value)


def test_dataset_statistics_match_the_store(void, app):
    assert (DATASET, RDF.type, VOID.Dataset) in void
    assert _int(void, DATASET, VOID.triples) == _count(
        app, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert _int(void, DATASET, VOID.distinctSubjects) == _count(
        app, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }")
    assert _int(void, DATASET, VOID.distinctObjects) == _count(
        app, "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }")
    assert _int(void, DATASET, VOID.properties) == _count(
        app, "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }")
    assert _int(void, DATASET, VOID.classes) == _count(
        app, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a ?c }")
    assert _int(void, DATASET, VOID.entities) == _count(
        app, f'SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s ?p ?o '
        f'FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{BASE}")) }}')
    assert void.value(DATASET, VOID.uriSpace) == Literal(BASE)


def test_a_subset_per_named_graph_with_its_size(void, app):
    graphs = runtime_of(app).store.named_graphs()
    assert str(QG["article"]) in graphs
    subsets = set(void.objects(DATASET, VOID.subset))
    assert {URIRef(g) for g in graphs} == subsets
    for graph in graphs:
        expected = _count(
            app, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        assert _int(void, URIRef(graph), VOID.triples) == expected


def test_class_and_property_partitions(void, app):
    classes = {
        void.value(p, VOID["class"]): int(void.value(p, VOID.entities))
        for p in void.objects(DATASET, VOID.classPartition)
    }
    district = QDKG.DistrictLevelDivision
    assert classes[district] == _count(
        app, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a <{district}> }}")
    properties = {
        void.value(p, VOID.property): int(void.value(p, VOID.triples))
        for p in void.objects(DATASET, VOID.propertyPartition)
    }
    assert properties[RDFS.label] == _count(
        app, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{RDFS.label}> ?o }}")
    assert len(properties) == _int(void, DATASET, VOID.properties)
    vocabularies = set(void.objects(DATASET, VOID.vocabulary))
    assert URIRef(str(QDKG)) in vocabularies and URIRef(str(RDFS)) in vocabularies


def test_links_to_the_endpoint_dumps_and_examples_are_the_services_own(void, server):
    assert void.value(DATASET, VOID.sparqlEndpoint) == URIRef(server.url + "/sparql")
    dumps = set(void.objects(DATASET, VOID.dataDump))
    assert {URIRef(server.url + "/dump.nq"), URIRef(server.url + "/dump.trig")} <= dumps
    examples = set(void.objects(DATASET, VOID.exampleResource))
    assert URIRef(BASE + "id/district/chengyang") in examples
    for example in examples:  # each example dereferences on this server
        response, _ = _get(server.url + "/" + str(example).removeprefix(BASE), "text/turtle")
        assert response.status == 200


@pytest.mark.parametrize("media", list(FORMATS))
def test_every_format_parses_to_the_same_description(server, void, media):
    response, body = _get(server.url + "/.well-known/void", media)
    assert response.headers["Content-Type"].split(";")[0] == media
    assert "Accept" in response.headers["Vary"]
    assert _parse(media, body).isomorphic(void)


def test_home_and_rdf_clients_find_the_void(server):
    response, body = _get(server.url + "/", "text/turtle")
    assert response.url == server.url + "/.well-known/void"  # followed the 303
    assert (DATASET, RDF.type, VOID.Dataset) in Graph().parse(data=body, format="turtle")
    home, _ = _get(server.url + "/", "text/html")
    assert '</.well-known/void>; rel="describedby"' in home.headers["Link"]


def test_conditional_get_of_the_void(server):
    response, _ = _get(server.url + "/.well-known/void", "text/turtle")
    etag = response.headers["ETag"]
    request = urllib.request.Request(  # noqa: S310 (http, ours)
        server.url + "/.well-known/void", headers={"Accept": "text/turtle", "If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as not_modified:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    not_modified.value.close()
    assert not_modified.value.code == 304
