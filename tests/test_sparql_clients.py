"""Real SPARQL clients against a real server: SPARQLWrapper in every return format it has,
rdflib's SPARQLStore, and plain http.client. Expected answers come from rdflib over the build.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import urllib.parse
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import (
    CSV,
    GET,
    JSON,
    JSONLD,
    N3,
    POST,
    RDFXML,
    TSV,
    TURTLE,
    XML,
    SPARQLWrapper,
)

from qdkg.build import TRIG_FILE

QDKG = "https://w3id.org/qdkg/ontology#"
CHENGYANG = URIRef("https://w3id.org/qdkg/id/district/chengyang")
PREFIXES = f"PREFIX qdkg: <{QDKG}>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
LABELS = PREFIXES + f"SELECT ?label WHERE {{ <{CHENGYANG}> rdfs:label ?label }}"
STATEMENT_VALUES = PREFIXES + (
    "SELECT DISTINCT ?st ?value WHERE { ?st a qdkg:QuantitativeStatement ; qdkg:value ?value }"
)
DISTRICTS = PREFIXES + (
    "CONSTRUCT { ?d rdfs:label ?l } WHERE { ?d a qdkg:DistrictLevelDivision ; rdfs:label ?l }"
)
SRX = "{http://www.w3.org/2005/sparql-results#}"


@pytest.fixture(scope="module")
def reference(build_dir) -> Dataset:
    dataset = Dataset(default_union=True)
    dataset.parse(build_dir / TRIG_FILE, format="trig")
    return dataset


def wrapper(server, query: str, return_format: str, method: str = GET) -> SPARQLWrapper:
    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(return_format)
    client.setMethod(method)
    return client


def expected_values(reference: Dataset) -> set[tuple[str, Decimal]]:
    return {(str(st), Decimal(str(v))) for st, v in reference.query(STATEMENT_VALUES)}


@pytest.mark.parametrize("method", [GET, POST])
def test_sparqlwrapper_json(server, reference, method):
    result = wrapper(server, STATEMENT_VALUES, JSON, method).query()
    assert result.info()["content-type"].startswith("application/sparql-results+json")
    bindings = result.convert()["results"]["bindings"]
    got = {(b["st"]["value"], Decimal(b["value"]["value"])) for b in bindings}
    assert got == expected_values(reference) and len(got) > 50


def test_sparqlwrapper_xml(server, reference):
    document = wrapper(server, LABELS, XML).query().convert()  # a DOM document
    literals = {
        (node.firstChild.data, node.getAttribute("xml:lang"))
        for node in document.getElementsByTagName("literal")
    }
    expected = {(str(lit), lit.language) for (lit,) in reference.query(LABELS)}
    assert literals == expected and len(expected) == 2


def test_sparqlwrapper_csv(server, reference):
    text = wrapper(server, STATEMENT_VALUES, CSV).query().convert().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {(r["st"], Decimal(r["value"])) for r in rows} == expected_values(reference)


def test_sparqlwrapper_tsv(server, reference):
    text = wrapper(server, LABELS, TSV).query().convert().decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == "?label"
    got = set()
    for cell in lines[1:]:
        graph = Graph().parse(data=f"<urn:s> <urn:p> {cell} .", format="turtle")
        got |= set(graph.objects())
    assert got == {lit for (lit,) in reference.query(LABELS)}


@pytest.mark.parametrize(
    ("return_format", "media", "rdflib_format"),
    [
        (TURTLE, "text/turtle", "turtle"),
        (N3, "text/turtle", "turtle"),
        (JSONLD, "application/ld+json", "json-ld"),
        (RDFXML, "application/rdf+xml", "xml"),
    ],
)
def test_sparqlwrapper_rdf_formats(server, reference, return_format, media, rdflib_format):
    # Read the body directly: SPARQLWrapper's convert() builds an rdflib ConjunctiveGraph,
    # deprecated in rdflib 7 (a warning, hence an error in this test suite).
    result = wrapper(server, DISTRICTS, return_format).query()
    assert result.info()["content-type"].split(";")[0] == media
    graph = Graph().parse(data=result.response.read(), format=rdflib_format)
    expected = set(reference.query(DISTRICTS).graph)
    assert set(graph) == expected and len(expected) >= 6


def test_sparqlwrapper_n_triples_by_accept_header(server, reference):
    client = wrapper(server, DISTRICTS, N3)
    client.setOnlyConneg(True)
    client.addCustomHttpHeader("Accept", "application/n-triples")
    result = client.query()
    assert result.info()["content-type"] == "application/n-triples"
    graph = Graph().parse(data=result.response.read(), format="nt")
    assert set(graph) == set(reference.query(DISTRICTS).graph)


def test_sparqlwrapper_ask_and_describe(server):
    ask = wrapper(server, PREFIXES + f"ASK {{ <{CHENGYANG}> a qdkg:District }}", JSON)
    assert ask.query().convert()["boolean"] is True
    described = wrapper(server, f"DESCRIBE <{CHENGYANG}>", TURTLE).query().convert()
    graph = Graph().parse(data=described, format="turtle")
    assert (CHENGYANG, RDF.type, URIRef(QDKG + "District")) in graph


def test_rdflib_sparqlstore(server, reference):
    store = SPARQLStore(query_endpoint=server.url + "/sparql", returnFormat="json")
    graph = Graph(store=store)
    rows = {(str(st), Decimal(str(v))) for st, v in graph.query(STATEMENT_VALUES)}
    assert rows == expected_values(reference)
    labels = set(graph.objects(CHENGYANG, RDFS.label))
    assert labels == set(reference.objects(CHENGYANG, RDFS.label))
    assert Literal("城阳区", lang="zh") in labels
    assert graph.query(PREFIXES + f"ASK {{ <{CHENGYANG}> a qdkg:District }}").askAnswer is True
    constructed = graph.query(DISTRICTS).graph
    assert set(constructed) == set(reference.query(DISTRICTS).graph)
    store.close()


def test_rdflib_sparqlstore_xml_results(server, reference):
    store = SPARQLStore(query_endpoint=server.url + "/sparql", returnFormat="xml", method="POST")
    rows = {lit for (lit,) in Graph(store=store).query(LABELS)}
    assert rows == {lit for (lit,) in reference.query(LABELS)}
    store.close()


def test_plain_http_client(server, reference):
    host, port = urllib.parse.urlsplit(server.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(
            "POST", "/sparql", body=LABELS.encode("utf-8"),
            headers={"Content-Type": "application/sparql-query",
                     "Accept": "application/sparql-results+xml"},
        )
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("application/sparql-results+xml")
    root = ET.fromstring(body)  # noqa: S314 - our own server's answer
    got = {lit.text for lit in root.iter(SRX + "literal")}
    assert got == {str(lit) for (lit,) in reference.query(LABELS)}


def test_plain_http_client_json_select_of_every_graph(server, reference):
    host, port = urllib.parse.urlsplit(server.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    try:
        connection.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}))
        response = connection.getresponse()
        document = json.loads(response.read())
    finally:
        connection.close()
    got = {b["g"]["value"]: int(b["n"]["value"]) for b in document["results"]["bindings"]}
    expected = {str(g.identifier): len(g) for g in reference.graphs() if len(g)}
    assert got == expected
