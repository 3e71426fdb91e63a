"""The SPARQL 1.1 Protocol at /sparql over real HTTP: methods, parameters, statuses and formats.

Every response is read with an independent parser (json, csv, xml.etree, rdflib) and compared
with the answer rdflib computes from the build's TriG file.
"""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from qdkg.build import TRIG_FILE

QDKG = "https://w3id.org/qdkg/ontology#"
QID = "https://w3id.org/qdkg/id/"
QG = "https://w3id.org/qdkg/graph/"
CHENGYANG = URIRef(QID + "district/chengyang")
PREFIXES = (
    f"PREFIX qdkg: <{QDKG}>\nPREFIX qid: <{QID}>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)
SRX = "{http://www.w3.org/2005/sparql-results#}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

COUNT_STATEMENTS = PREFIXES + (
    "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a qdkg:QuantitativeStatement }"
)
LABELS = PREFIXES + f"SELECT ?label WHERE {{ <{CHENGYANG}> rdfs:label ?label }}"
VALUES = PREFIXES + (
    f"SELECT DISTINCT ?st ?value WHERE {{ ?st qdkg:about <{CHENGYANG}> ; qdkg:value ?value }}"
)
DISTRICT_LABELS = PREFIXES + (
    "CONSTRUCT { ?d rdfs:label ?l } WHERE { ?d a qdkg:DistrictLevelDivision ; rdfs:label ?l }"
)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


def http(
    url: str,
    *,
    method: str = "GET",
    params: list[tuple[str, str]] | dict[str, str] | None = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    if params:
        url += "?" + urllib.parse.urlencode(params)
    request = urllib.request.Request(  # noqa: S310 - the test server's http URL
        url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()},
                         response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, {k.lower(): v for k, v in error.headers.items()},
                         error.read())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def get_query(server, query: str, accept: str | None = None, **extra: str) -> Reply:
    headers = {"Accept": accept} if accept else {}
    return http(server.url + "/sparql", params={"query": query, **extra}, headers=headers)


@pytest.fixture(scope="module")
def reference(build_dir) -> Dataset:
    """The built dataset, read by rdflib: the independent source of expected answers."""
    dataset = Dataset(default_union=True)
    dataset.parse(build_dir / TRIG_FILE, format="trig")
    return dataset


def expected_rows(reference: Dataset, query: str) -> list[tuple]:
    return [tuple(row) for row in reference.query(query)]


def expected_count(reference: Dataset, query: str) -> int:
    return int(expected_rows(reference, query)[0][0])


def named_graph_names(reference: Dataset) -> set[str]:
    return {str(g.identifier) for g in reference.graphs() if str(g.identifier).startswith(QG)}


# --- methods --------------------------------------------------------------------------------


def test_get_post_form_and_post_direct_give_the_same_answer(server, reference):
    expected = expected_count(reference, COUNT_STATEMENTS)
    assert expected > 0
    replies = [
        get_query(server, COUNT_STATEMENTS),
        http(server.url + "/sparql", method="POST",
             data=urllib.parse.urlencode({"query": COUNT_STATEMENTS}).encode(),
             headers={"Content-Type": "application/x-www-form-urlencoded"}),
        http(server.url + "/sparql", method="POST", data=COUNT_STATEMENTS.encode(),
             headers={"Content-Type": "application/sparql-query"}),
    ]
    for reply in replies:
        assert reply.status == 200, reply.text
        assert reply.media_type == "application/sparql-results+json"
        assert int(reply.json()["results"]["bindings"][0]["n"]["value"]) == expected


def test_post_direct_takes_dataset_parameters_from_the_url(server, reference):
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    reply = http(server.url + "/sparql?default-graph-uri=" + urllib.parse.quote(QG + "ontology"),
                 method="POST", data=query.encode(),
                 headers={"Content-Type": "application/sparql-query; charset=utf-8"})
    assert reply.status == 200, reply.text
    assert int(reply.json()["results"]["bindings"][0]["n"]["value"]) == len(
        reference.graph(URIRef(QG + "ontology")))


def test_post_form_with_non_ascii_query(server, reference):
    query = PREFIXES + 'ASK { ?d rdfs:label "城阳区"@zh }'
    reply = http(server.url + "/sparql", method="POST",
                 data=urllib.parse.urlencode({"query": query}).encode("utf-8"),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 200, reply.text
    assert reply.json()["boolean"] is bool(reference.query(query).askAnswer)


# --- SELECT and ASK in every result format ----------------------------------------------------


def test_select_as_sparql_json(server, reference):
    reply = get_query(server, LABELS, "application/sparql-results+json")
    assert reply.status == 200 and reply.media_type == "application/sparql-results+json"
    assert reply.headers["vary"].startswith("Accept")
    document = reply.json()
    assert document["head"]["vars"] == ["label"]
    bindings = document["results"]["bindings"]
    got = {(b["label"]["value"], b["label"].get("xml:lang")) for b in bindings}
    expected = {(str(row[0]), row[0].language) for row in expected_rows(reference, LABELS)}
    assert got == expected and {lang for _, lang in got} == {"zh", "en"}


def test_select_as_sparql_xml(server, reference):
    reply = get_query(server, LABELS, "application/sparql-results+xml")
    assert reply.status == 200 and reply.media_type == "application/sparql-results+xml"
    root = ET.fromstring(reply.body)  # noqa: S314 - our own server's answer
    assert [v.get("name") for v in root.iter(SRX + "variable")] == ["label"]
    got = {(lit.text, lit.get(XML_LANG)) for lit in root.iter(SRX + "literal")}
    expected = {(str(row[0]), row[0].language) for row in expected_rows(reference, LABELS)}
    assert got == expected


def test_select_as_csv(server, reference):
    reply = get_query(server, VALUES, "text/csv")
    assert reply.status == 200 and reply.media_type == "text/csv"
    rows = list(csv.reader(io.StringIO(reply.text)))
    assert rows[0] == ["st", "value"]
    got = {(st, Decimal(value)) for st, value in rows[1:]}
    expected = {(str(st), Decimal(str(v))) for st, v in expected_rows(reference, VALUES)}
    assert got == expected and len(got) > 0


def test_select_as_tsv(server, reference):
    reply = get_query(server, VALUES, "text/tab-separated-values")
    assert reply.status == 200 and reply.media_type == "text/tab-separated-values"
    lines = reply.text.splitlines()
    assert lines[0].split("\t") == ["?st", "?value"]
    got = {tuple(turtle_term(cell) for cell in line.split("\t")) for line in lines[1:]}
    expected = set(expected_rows(reference, VALUES))
    assert {(st, Decimal(str(v))) for st, v in got} == {
        (st, Decimal(str(v))) for st, v in expected}
    assert {v.datatype for _, v in got} == {v.datatype for _, v in expected}


def turtle_term(cell: str):  # type: ignore[no-untyped-def]
    """A TSV cell is a term in Turtle syntax: read it with rdflib's Turtle parser."""
    graph = Graph().parse(data=f"<urn:s> <urn:p> {cell} .", format="turtle")
    return next(iter(graph.objects()))


def test_ask_true_and_false_in_json_and_xml(server):
    yes = PREFIXES + "ASK { <https://w3id.org/qdkg/id/district/chengyang> a qdkg:District }"
    no = PREFIXES + "ASK { <https://w3id.org/qdkg/id/district/chengyang> a qdkg:Person }"
    for query, answer in ((yes, True), (no, False)):
        assert get_query(server, query).json()["boolean"] is answer
        xml = get_query(server, query, "application/sparql-results+xml").body
        root = ET.fromstring(xml)  # noqa: S314 - our own server's answer
        assert root.find(SRX + "boolean").text == str(answer).lower()


# --- CONSTRUCT and DESCRIBE in every RDF format -----------------------------------------------

GRAPH_FORMATS = [
    ("text/turtle", "turtle"),
    ("application/n-triples", "nt"),
    ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml"),
    ("application/n-quads", "nquads"),
    ("application/trig", "trig"),
]


@pytest.mark.parametrize(("media", "rdflib_format"), GRAPH_FORMATS)
def test_construct_in_each_rdf_format(server, reference, media, rdflib_format):
    reply = get_query(server, DISTRICT_LABELS, media)
    assert reply.status == 200, reply.text
    assert reply.media_type == media
    if rdflib_format in ("nquads", "trig"):
        parsed = Dataset()
        parsed.parse(data=reply.body, format=rdflib_format)
        triples = {(s, p, o) for s, p, o, _ in parsed.quads((None, None, None, None))}
    else:
        triples = set(Graph().parse(data=reply.body, format=rdflib_format))
    expected = set(reference.query(DISTRICT_LABELS).graph)
    assert triples == expected and len(expected) >= 6


def test_describe_gives_the_resource_and_the_labels_of_what_it_points_to(server, reference):
    reply = get_query(server, f"DESCRIBE <{CHENGYANG}>", "text/turtle")
    assert reply.status == 200 and reply.media_type == "text/turtle"
    described = Graph().parse(data=reply.body, format="turtle")
    own = {(CHENGYANG, p, o) for p, o in reference.predicate_objects(CHENGYANG)}
    assert own and own <= set(described)
    linked = {o for _, o in reference.predicate_objects(CHENGYANG) if isinstance(o, URIRef)}
    assert linked
    for target in linked:
        for label in reference.objects(target, RDFS.label):
            assert (target, RDFS.label, label) in described


# --- content negotiation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
        ("application/json", "application/sparql-results+json"),
        ("application/xml", "application/sparql-results+xml"),
        ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv;q=0.9, text/tab-separated-values;q=0.3", "text/csv"),
        ("text/tab-separated-values, */*;q=0.1", "text/tab-separated-values"),
    ],
)
def test_accept_with_q_values_for_select(server, accept, expected):
    reply = get_query(server, LABELS, accept)
    assert reply.status == 200 and reply.media_type == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("*/*", "text/turtle"),
        ("application/rdf+xml;q=0.4, application/n-triples;q=0.8", "application/n-triples"),
        ("application/json", "application/ld+json"),
    ],
)
def test_accept_for_construct(server, accept, expected):
    assert get_query(server, DISTRICT_LABELS, accept).media_type == expected


def test_accept_for_the_other_query_form_gets_this_forms_default(server):
    # clients such as rdflib's SPARQLStore send one Accept whatever the query form
    construct = get_query(server, DISTRICT_LABELS, "application/sparql-results+json")
    assert construct.status == 200 and construct.media_type == "text/turtle"
    select = get_query(server, LABELS, "text/turtle")
    assert select.status == 200 and select.media_type == "application/sparql-results+json"


def test_format_parameter_overrides_accept_and_depends_on_the_query_form(server):
    select = get_query(server, LABELS, "application/sparql-results+json", format="csv")
    assert select.media_type == "text/csv"
    assert get_query(server, LABELS, format="xml").media_type == "application/sparql-results+xml"
    construct = get_query(server, DISTRICT_LABELS, "text/turtle", format="xml")
    assert construct.media_type == "application/rdf+xml"
    assert get_query(server, DISTRICT_LABELS, format="application/n-quads").media_type == (
        "application/n-quads")


def test_nothing_acceptable_is_406_listing_what_is_offered(server):
    reply = get_query(server, LABELS, "image/png", )
    assert reply.status == 406
    assert "application/sparql-results+json" in reply.text and "text/csv" in reply.text
    reply = get_query(server, LABELS, format="turtle")
    assert reply.status == 406 and "csv" in reply.text


def test_browsers_are_sent_to_the_query_page(server):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    opener = urllib.request.build_opener(NoRedirect)
    for params in ({"query": LABELS}, None):
        url = server.url + "/sparql" + ("?" + urllib.parse.urlencode(params) if params else "")
        with pytest.raises(urllib.error.HTTPError) as caught:
            request = urllib.request.Request(url, headers={"Accept": browser})  # noqa: S310
            opener.open(request, timeout=10)
        caught.value.close()
        assert caught.value.code == 303
        location = urllib.parse.urlsplit(caught.value.headers["Location"])
        assert location.path == "/query"
        if params:
            assert urllib.parse.parse_qs(location.query)["query"] == [LABELS]


# --- the dataset: union default graph, GRAPH, FROM, protocol dataset ---------------------------


def test_default_graph_is_the_union_of_the_named_graphs(server):
    # qdkg:District is declared in the ontology graph, chengyang typed in the article graph.
    query = PREFIXES + (
        f"ASK {{ qdkg:District a <{OWL.Class}> . <{CHENGYANG}> a qdkg:District }}")
    assert get_query(server, query).json()["boolean"] is True


def test_graph_lists_every_named_graph(server, reference):
    reply = get_query(server, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    got = {b["g"]["value"] for b in reply.json()["results"]["bindings"]}
    assert got == named_graph_names(reference)
    assert {QG + "article", QG + "ontology", QG + "shapes", QG + "inferred"} <= got


def count(reply: Reply) -> int:
    assert reply.status == 200, reply.text
    return int(reply.json()["results"]["bindings"][0]["n"]["value"])


def test_from_and_default_graph_uri_select_one_graph(server, reference):
    ontology = len(reference.graph(URIRef(QG + "ontology")))
    shapes = len(reference.graph(URIRef(QG + "shapes")))
    plain = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    with_from = f"SELECT (COUNT(*) AS ?n) FROM <{QG}ontology> WHERE {{ ?s ?p ?o }}"  # noqa: S608
    assert count(get_query(server, with_from)) == ontology
    assert count(get_query(server, plain, **{"default-graph-uri": QG + "ontology"})) == ontology
    # the protocol's dataset replaces the query's (SPARQL 1.1 Protocol, 2.1.4)
    assert count(get_query(server, with_from, **{"default-graph-uri": QG + "shapes"})) == shapes


def test_from_named_and_named_graph_uri_limit_graph(server):
    graphs = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    for reply in (
        get_query(server, f"SELECT DISTINCT ?g FROM NAMED <{QG}shapes> "  # noqa: S608 - SPARQL
                  "WHERE { GRAPH ?g { ?s ?p ?o } }"),
        get_query(server, graphs, **{"named-graph-uri": QG + "shapes"}),
    ):
        assert reply.status == 200, reply.text
        assert [b["g"]["value"] for b in reply.json()["results"]["bindings"]] == [QG + "shapes"]
    # with only named graphs given, the default graph is empty (SPARQL 1.1 Protocol, 2.1.4)
    plain = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert count(get_query(server, plain, **{"named-graph-uri": QG + "shapes"})) == 0


def test_graphs_outside_the_dataset_are_refused(server):
    elsewhere = "http://example.org/not-here"
    for reply in (
        get_query(server, f"SELECT * FROM <{elsewhere}> WHERE {{ ?s ?p ?o }}"),  # noqa: S608
        get_query(server, f"SELECT * FROM NAMED <{elsewhere}> {{ ?s ?p ?o }}"),  # noqa: S608
        get_query(server, "SELECT * WHERE { ?s ?p ?o }", **{"default-graph-uri": elsewhere}),
        get_query(server, "SELECT * WHERE { ?s ?p ?o }", **{"named-graph-uri": elsewhere}),
    ):
        assert reply.status == 400
        assert elsewhere in reply.text and QG + "article" in reply.text


# --- client errors -----------------------------------------------------------------------------


def test_syntax_error_is_400_with_line_and_column(server):
    query = "SELECT ?s WHERE {\n  ?s ?p ?o .\n  BIND(1 AS ?s ?t)\n}"
    reply = get_query(server, query)
    assert reply.status == 400
    assert "line 3, column 16" in reply.text and "BIND(1 AS ?s ?t)" in reply.text
    reply = http(server.url + "/sparql", params={"query": query},
                 headers={"Accept": "application/json"})
    assert reply.status == 400 and "line 3" in reply.json()["error"]


def test_unsupported_post_type_is_415_naming_the_accepted_ones(server):
    reply = http(server.url + "/sparql", method="POST", data=LABELS.encode(),
                 headers={"Content-Type": "text/plain"})
    assert reply.status == 415
    assert "application/x-www-form-urlencoded" in reply.text
    assert "application/sparql-query" in reply.text
    reply = http(server.url + "/sparql", method="POST", data=b"INSERT DATA {}",
                 headers={"Content-Type": "application/sparql-update"})
    assert reply.status == 415 and "/update" in reply.text


def test_updates_are_pointed_at_the_update_endpoint(server):
    update = "INSERT DATA { <http://example.org/s> <http://example.org/p> 1 }"
    form = http(server.url + "/sparql", method="POST",
                data=urllib.parse.urlencode({"update": update}).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status == 400 and "/update" in form.text
    as_query = get_query(server, update)
    assert as_query.status == 400 and "/update" in as_query.text


def test_missing_or_repeated_query(server):
    post = http(server.url + "/sparql", method="POST", data=b"",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert post.status == 400 and "query" in post.text
    twice = http(server.url + "/sparql", params=[("query", LABELS), ("query", LABELS)])
    assert twice.status == 400 and "exactly one" in twice.text


def test_other_methods_are_405_with_allow(server):
    reply = http(server.url + "/sparql", method="PUT", data=b"x")
    assert reply.status == 405
    assert {"GET", "POST"} <= {m.strip() for m in reply.headers["allow"].split(",")}


def test_oversized_query_is_413(server):
    padding = "#" + "x" * 120_000 + "\n"
    reply = http(server.url + "/sparql", method="POST", data=(padding + LABELS).encode(),
                 headers={"Content-Type": "application/sparql-query"})
    assert reply.status == 413 and "100000" in reply.text


# --- service description, dumps, CORS, health -------------------------------------------------

SD = "http://www.w3.org/ns/sparql-service-description#"


def test_service_description_on_get_without_query(server, reference):
    reply = http(server.url + "/sparql")
    assert reply.status == 200 and reply.media_type == "text/turtle"
    sd = Graph().parse(data=reply.body, format="turtle")
    service = URIRef(server.url + "/sparql")
    assert (service, RDF.type, URIRef(SD + "Service")) in sd
    assert (service, URIRef(SD + "endpoint"), service) in sd
    features = set(sd.objects(service, URIRef(SD + "feature")))
    assert URIRef(SD + "UnionDefaultGraph") in features
    assert URIRef(SD + "BasicFederatedQuery") not in features  # the allow-list is empty
    names = {str(n) for n in sd.objects(None, URIRef(SD + "name"))}
    assert names == named_graph_names(reference)
    formats = {str(f) for f in sd.objects(service, URIRef(SD + "resultFormat"))}
    assert "http://www.w3.org/ns/formats/SPARQL_Results_CSV" in formats
    assert "http://www.w3.org/ns/formats/JSON-LD" in formats
    assert sd.value(service, URIRef(QDKG + "resultRowLimit")).toPython() == 10_000
    assert sd.value(service, URIRef(QDKG + "queryTimeLimit")).toPython() == 10
    assert sd.value(service, URIRef(QDKG + "truncationHeader")) == Literal("X-QDKG-Truncated")
    comments = " ".join(str(c) for c in sd.objects(service, RDFS.comment))
    assert "X-QDKG-Truncated: true" in comments and "10000" in comments


def test_service_description_in_other_rdf_formats(server):
    reply = http(server.url + "/sparql", headers={"Accept": "application/n-triples"})
    assert reply.media_type == "application/n-triples"
    assert len(Graph().parse(data=reply.body, format="nt")) > 10


@pytest.mark.parametrize(
    ("path", "media", "rdflib_format", "filename"),
    [
        ("/dump.nq", "application/n-quads", "nquads", "qdkg.nq"),
        ("/dump.trig", "application/trig", "trig", "qdkg.trig"),
    ],
)
def test_dumps(server, reference, path, media, rdflib_format, filename):
    reply = http(server.url + path)
    assert reply.status == 200 and reply.media_type == media
    assert reply.headers["content-disposition"] == f"attachment; filename={filename}"
    assert int(reply.headers["content-length"]) == len(reply.body)
    dumped = Dataset()
    dumped.parse(data=reply.body, format=rdflib_format)
    got = {(s, p, o, str(g)) for s, p, o, g in dumped.quads((None, None, None, None))
           if str(g).startswith(QG)}
    expected = {(s, p, o, str(g)) for s, p, o, g in reference.quads((None, None, None, None))
                if str(g).startswith(QG)}
    assert len(got) == len(expected) and len(expected) > 1000


def test_dump_chosen_by_format_or_accept(server):
    trig = http(server.url + "/dump.trig").body
    by_format = http(server.url + "/dump", params={"format": "trig"})
    by_accept = http(server.url + "/dump", headers={"Accept": "application/trig"})
    for reply in (by_format, by_accept):
        assert reply.media_type == "application/trig" and reply.body == trig
        assert reply.headers["content-disposition"] == "attachment; filename=qdkg.trig"
    assert http(server.url + "/dump", headers={"Accept": "text/csv"}).status == 406


def test_cors_on_reads_and_preflight(server):
    for reply in (
        get_query(server, LABELS),
        http(server.url + "/sparql", method="POST", data=LABELS.encode(),
             headers={"Content-Type": "application/sparql-query", "Origin": "https://example.org"}),
        http(server.url + "/dump.nq"),
    ):
        assert reply.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in reply.headers
    preflight = http(server.url + "/sparql", method="OPTIONS", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "*"
    methods = {m.strip() for m in preflight.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "POST"} <= methods
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in preflight.headers


def test_health_reports_the_store(server, reference):
    reply = http(server.url + "/health")
    assert reply.status == 200
    body = reply.json()
    named = [g for g in reference.graphs() if str(g.identifier).startswith(QG)]
    assert body["status"] == "ok" and body["store"] == "embedded"
    assert body["graphs"] == len(named)
    assert body["quads"] == sum(len(g) for g in named)


def test_request_log_lists_each_request(server):
    marker = "SELECT ?logged WHERE { ?logged ?p ?o } LIMIT 1"
    get_query(server, marker)
    line = f"GET /sparql?{urllib.parse.urlencode({'query': marker})} HTTP/1.1\" 200"
    deadline = time.monotonic() + 10  # the worker writes the line just after answering
    while line not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert line in server.log()
