"""Dereferencing: every kind of IRI as every RDF format, checked with rdflib's parsers against the
store; the 303 pattern, Vary, Link, HEAD, ETag/304 and 404s over real HTTP; escaping; helpers."""

from __future__ import annotations

import http.client
import json
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from qdkg.app import create_app, runtime_of
from qdkg.build import DATASET_FILE
from qdkg.config import Config
from qdkg.namespaces import BASE, GRAPH_INFERRED, NIF, QDKG, QG, QID
from qdkg.pages import choose_language, format_decimal, human_value, quote_in_context
from qdkg.paths import article_text
from qdkg.runtime import Runtime
from qdkg.store import OxigraphStore

RDF_FORMATS = {
    "text/turtle": ("turtle", "ttl"),
    "application/ld+json": ("json-ld", "jsonld"),
    "application/n-triples": ("nt", "nt"),
    "application/rdf+xml": ("xml", "rdf"),
    "application/trig": ("trig", "trig"),
    "application/n-quads": ("nquads", "nq"),
}
DATASET_FORMATS = {"application/trig", "application/n-quads"}


# --- the sample: one IRI of every kind, found in the data rather than written down -------------


def _store(app):
    return runtime_of(app).store


def _one(app, query: str) -> str:
    rows = list(_store(app).query(query))
    assert rows, f"the graph has no answer to:\n{query}"
    return rows[0][0].value


@pytest.fixture(scope="module")
def sample(app) -> dict[str, str]:
    """kind -> IRI. Shared IRIs from docs/modelling.md, the rest picked from the graph."""
    q = f"PREFIX qdkg: <{QDKG}>\n"
    return {
        "district": str(QID["district/chengyang"]),
        "person": str(QID["person/wang-qingyuan"]),
        "post": str(QID["post/xihaian-district-head"]),
        "org": str(QID["org/xihaian-government"]),
        "initiative": str(QID["initiative/urban-renewal-three-year-campaign"]),
        "measure": str(QID["measure/investment-completed"]),
        "unit": str(QID["unit/cny"]),
        "project": _one(app, q + "SELECT ?x WHERE { ?x a qdkg:Project } ORDER BY ?x LIMIT 1"),
        "project-group": _one(
            app, q + "SELECT ?x WHERE { ?x a qdkg:ProjectGroup } ORDER BY ?x LIMIT 1"
        ),
        "statement": _one(
            app,
            q + f"SELECT ?x WHERE {{ ?x qdkg:measure <{QID['measure/investment-completed']}> ; "
            f"qdkg:unit <{QID['unit/cny']}> }} ORDER BY ?x LIMIT 1",
        ),
        "span": _one(
            app,
            q + "SELECT ?x WHERE { ?s a qdkg:QuantitativeStatement ; qdkg:evidence ?x } "
            "ORDER BY ?x LIMIT 1",
        ),
    }


def _local(iri: str) -> str:
    return "/" + iri.removeprefix(BASE)


def _doc(iri: str) -> str:
    return "/doc/" + iri.removeprefix(str(QID))


def _parse(media: str, body: bytes) -> Dataset:
    dataset = Dataset()
    parser, _ = RDF_FORMATS[media]
    if media in DATASET_FORMATS:
        dataset.parse(data=body, format=parser)
    else:
        dataset.default_graph.parse(data=body, format=parser)
    return dataset


def _triples(dataset: Dataset) -> Graph:
    merged = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        merged.add((s, p, o))
    return merged


def _rdflib(term: ox.NamedNode | ox.Literal) -> URIRef | Literal:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == "http://www.w3.org/2001/XMLSchema#string":
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def _expected(app, iri: str) -> tuple[set, set, set]:
    """From the store: the resource's own triples, inbound links, labels of what it links to."""
    store, node = _store(app), f"<{iri}>"
    own = {
        (URIRef(iri), URIRef(r["p"].value), _rdflib(r["o"]))
        for r in store.query(f"SELECT ?p ?o WHERE {{ {node} ?p ?o FILTER(!isBlank(?o)) }}")
    }
    inbound = {
        (URIRef(r["s"].value), URIRef(r["p"].value), URIRef(iri))
        for r in store.query(
            f"SELECT ?s ?p WHERE {{ ?s ?p {node} FILTER(isIRI(?s)) }} ORDER BY ?s LIMIT 50"
        )
    }
    labels = {
        (URIRef(r["x"].value), RDFS.label, _rdflib(r["l"]))
        for r in store.query(
            f"SELECT ?x ?l WHERE {{ {{ {node} ?p ?x }} UNION {{ ?x ?p {node} }} "
            "?x <http://www.w3.org/2000/01/rdf-schema#label> ?l } ORDER BY ?x LIMIT 100"
        )
    }
    return own, inbound, labels


KINDS = ["district", "person", "post", "org", "initiative", "measure", "unit", "project",
         "project-group", "statement", "span"]


@pytest.mark.parametrize("media", list(RDF_FORMATS))
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_in_every_format_holds_its_description(client, app, sample, kind, media):
    iri = sample[kind]
    redirect = client.get(_local(iri), headers={"Accept": media})
    assert redirect.status_code == 303
    document = redirect.headers["Location"]
    assert document == "/doc/" + iri.removeprefix(str(QID))
    response = client.get(document, headers={"Accept": media})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == media
    assert "Accept" in response.headers["Vary"]
    assert response.headers["Content-Location"] == f"{document}.{RDF_FORMATS[media][1]}"
    graph = _triples(_parse(media, response.data))
    own, inbound, labels = _expected(app, iri)
    assert own and labels, f"the store has too little about {iri} to check"
    assert own - set(graph) == set(), "own triples missing"
    assert inbound - set(graph) == set(), "inbound links missing"
    assert labels - set(graph) == set(), "labels of linked resources missing"
    if kind not in ("span",):
        assert (URIRef(iri), RDFS.label, None) in graph
    assert (URIRef(iri), RDF.type, None) in graph


def test_every_iri_the_graph_mints_dereferences(client, app):
    """Not a sample: every instance IRI (as subject or object) and every named graph."""
    store = _store(app)
    iris = sorted({
        r["x"].value for r in store.query(
            "SELECT DISTINCT ?x WHERE { { ?x ?p ?o } UNION { ?s ?p ?x } "
            f'FILTER(isIRI(?x) && STRSTARTS(STR(?x), "{QID}")) }}')
    })
    iris += store.named_graphs()
    assert len(iris) > 200
    failures = []
    for iri in iris:
        redirect = client.get(_local(iri), headers={"Accept": "application/n-triples"})
        if redirect.status_code != 303:
            failures.append(f"{iri}: {redirect.status_code}")
            continue
        response = client.get(redirect.headers["Location"],
                              headers={"Accept": "application/n-triples"})
        graph = Graph().parse(data=response.data, format="nt")
        if response.status_code != 200 or not any(
                graph.triples((URIRef(iri), None, None))) and not any(
                graph.triples((None, None, URIRef(iri)))):
            failures.append(f"{iri}: {response.status_code}, {len(graph)} triples")
    assert failures == []


def test_a_statement_carries_its_evidence_span(client, sample):
    statement = URIRef(sample["statement"])
    body = client.get(_doc(statement) + ".ttl").data
    graph = Graph().parse(data=body, format="turtle")
    spans = list(graph.objects(statement, QDKG.evidence))
    assert spans
    text = article_text()
    for span in spans:
        begin, end = graph.value(span, NIF.beginIndex), graph.value(span, NIF.endIndex)
        anchor = graph.value(span, NIF.anchorOf)
        assert begin is not None and end is not None and anchor is not None
        assert text[int(begin):int(end)] == str(anchor)
        assert graph.value(span, NIF.referenceContext) is not None


def test_jsonld_has_a_compact_context_with_our_prefixes(client, sample):
    response = client.get(_doc(sample["district"]) + ".jsonld")
    document = json.loads(response.data)
    context = document["@context"]
    assert context["qdkg"] == str(QDKG) and context["rdfs"] == str(RDFS)
    assert "rdfs:label" in json.dumps(document["@graph"], ensure_ascii=False)


def test_inferred_triples_keep_their_graph_in_trig(client, app, sample):
    iri = sample["district"]
    inferred = {
        (URIRef(iri), URIRef(r["p"].value), _rdflib(r["o"]))
        for r in _store(app).query(
            f"SELECT ?p ?o WHERE {{ GRAPH <{GRAPH_INFERRED}> {{ <{iri}> ?p ?o }} }}")
    }
    assert inferred, "expected the OWL RL closure to add something about the district"
    dataset = _parse("application/trig", client.get(_doc(iri) + ".trig").data)
    in_graph = set(dataset.graph(URIRef(str(GRAPH_INFERRED))))
    assert inferred <= in_graph
    html = client.get(_doc(iri) + ".html?lang=en").get_data(as_text=True)
    assert 'class="badge inferred"' in html


@pytest.mark.parametrize("name", ["article", "inferred", "ontology"])
def test_named_graphs_dereference_with_their_size(client, app, name):
    graph = str(QG[name])
    count = int(next(iter(_store(app).query(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")))["n"].value)
    redirect = client.get(f"/graph/{name}", headers={"Accept": "text/turtle"})
    assert redirect.status_code == 303 and redirect.headers["Location"] == f"/doc/graph/{name}"
    for media in RDF_FORMATS:
        body = client.get(f"/doc/graph/{name}", headers={"Accept": media}).data
        parsed = _triples(_parse(media, body))
        void_triples = URIRef("http://rdfs.org/ns/void#triples")
        assert int(parsed.value(URIRef(graph), void_triples)) == count
        assert parsed.value(URIRef(graph), RDFS.label) is not None


def test_the_ontology_and_a_term_dereference(client):
    for media in RDF_FORMATS:
        response = client.get("/ontology", headers={"Accept": media})
        assert response.status_code == 200 and response.mimetype == media
        graph = _triples(_parse(media, response.data))
        ontology = URIRef(BASE + "ontology")
        assert (ontology, RDF.type, URIRef("http://www.w3.org/2002/07/owl#Ontology")) in graph
        term = QDKG.QuantitativeStatement  # the IRI /ontology#QuantitativeStatement
        assert {o.language for o in graph.objects(term, RDFS.label)} >= {"zh", "en"}
    version = str(graph.value(ontology, URIRef("http://www.w3.org/2002/07/owl#versionInfo")))
    versioned = client.get(f"/ontology/{version}", headers={"Accept": "text/turtle"})
    assert versioned.status_code == 200
    assert Graph().parse(data=versioned.data, format="turtle").isomorphic(
        Graph().parse(data=client.get("/ontology.ttl").data, format="turtle"))
    missing = client.get("/ontology/99.0.0", headers={"Accept": "text/plain"})
    assert missing.status_code == 404 and version in missing.get_data(as_text=True)


def test_shapes_are_a_document_too(client):
    graph = Graph().parse(data=client.get("/shapes.ttl").data, format="turtle")
    shapes = set(graph.subjects(RDF.type, URIRef("http://www.w3.org/ns/shacl#PropertyShape")))
    assert shapes


def test_explicit_format_urls_and_parameter(client, sample):
    doc = _doc(sample["person"])
    for media, (_, ext) in RDF_FORMATS.items():
        by_extension = client.get(f"{doc}.{ext}", headers={"Accept": "text/html"})
        assert by_extension.mimetype == media
        assert "Content-Location" not in by_extension.headers
        by_parameter = client.get(f"{doc}?format={ext}", headers={"Accept": "text/html"})
        assert by_parameter.mimetype == media and by_parameter.data == by_extension.data
    assert client.get(f"{doc}.html").mimetype == "text/html"
    assert client.get(f"{doc}?format=xlsx").status_code == 406


def test_negotiation_follows_q_values_and_refuses_what_it_cannot_make(client, sample):
    doc = _doc(sample["person"])
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get(doc, headers={"Accept": browser}).mimetype == "text/html"
    assert client.get(doc, headers={"Accept": "*/*"}).mimetype == "text/turtle"
    preferred = "text/turtle;q=0.5, application/ld+json"
    assert client.get(doc, headers={"Accept": preferred}).mimetype == "application/ld+json"
    refused = client.get(doc, headers={"Accept": "image/png"})
    assert refused.status_code == 406 and "text/turtle" in refused.get_data(as_text=True)


def test_home_lists_districts_people_programmes_projects(client, app):
    html = client.get("/?lang=en", headers={"Accept": "text/html"}).get_data(as_text=True)
    for iri in (QID["district/chengyang"], QID["person/wang-qingyuan"],
                QID["initiative/urban-renewal-three-year-campaign"]):
        label = _one(app, f'SELECT ?l WHERE {{ <{iri}> <{RDFS.label}> ?l FILTER(LANG(?l)="en") }}')
        assert f'href="/{str(iri).removeprefix(BASE)}?lang=en"' in html
        assert label in html
    project = _one(app, f"SELECT ?x WHERE {{ ?x a <{QDKG.Project}> }} LIMIT 1")
    assert f'href="/{project.removeprefix(BASE)}?lang=en"' in html
    rdf_client = client.get("/", headers={"Accept": "text/turtle"})
    assert rdf_client.status_code == 303 and rdf_client.headers["Location"] == "/.well-known/void"


def test_statement_page_shows_both_numbers_and_the_quote_in_its_paragraph(client, app, sample):
    iri = sample["statement"]
    value = _one(app, f"SELECT ?v WHERE {{ <{iri}> <{QDKG.value}> ?v }}")
    stated = _one(app, f"SELECT ?v WHERE {{ <{iri}> <{QDKG.statedValue}> ?v }}")
    html = client.get(_doc(iri) + ".html?lang=en").get_data(as_text=True)
    assert stated in html
    assert f"{int(Decimal(value)):,} CNY" in html
    marks = re.findall(r"<mark>(.*?)</mark>", html)
    assert marks, "no highlighted quote"
    text = article_text()
    begin = text.find(marks[0])
    paragraph_start = text.rfind("\n", 0, begin) + 1
    assert text[paragraph_start:begin][-10:] in html  # the paragraph's text before the quote
    query_link = re.search(r'href="(/query\?query=[^"]+)"', html)
    assert query_link and "DESCRIBE" in query_link.group(1).replace("%20", " ")


def test_place_page_groups_its_figures_by_measure(client, app, sample):
    html = client.get("/doc/district/chengyang.html?lang=en").get_data(as_text=True)
    statements = [r["s"].value for r in _store(app).query(
        f"SELECT ?s WHERE {{ ?s <{QDKG.about}> <{sample['district']}> ; <{QDKG.measure}> ?m }}")]
    assert statements
    for statement in statements:
        assert f'href="/{statement.removeprefix(BASE)}?lang=en"' in html
    assert html.count("<mark>") >= len(statements)
    assert 'SELECT' in re.search(r'href="/query\?query=([^"]+)"', html).group(1)


def test_pages_send_a_strict_content_security_policy(client, sample):
    response = client.get(_doc(sample["district"]) + ".html")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "style-src 'self'" in policy
    assert "script-src" not in policy and "unsafe-inline" not in policy
    assert "<script" not in response.get_data(as_text=True)
    assert 'style="' not in response.get_data(as_text=True)


def test_unknown_iris_get_a_helpful_404(client):
    page = client.get("/id/district/chengyan", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'href="/id/district/chengyang"' in html and 'href="/"' in html
    text = client.get("/id/district/chengyan", headers={"Accept": "text/turtle"})
    assert text.status_code == 404 and text.mimetype == "text/plain"
    assert str(QID["district/chengyang"]) in text.get_data(as_text=True)
    assert client.get("/doc/person/nobody-at-all.ttl").status_code == 404
    assert client.get("/graph/no-such-graph").status_code == 404
    assert client.get("/id/district/has%20space").status_code == 404


# --- escaping: data with markup in a fresh store -------------------------------------------------


@pytest.fixture(scope="module")
def hostile_client(build_dir: Path):
    store = OxigraphStore()
    store.load_file(build_dir / DATASET_FILE)
    evil = "https://w3id.org/qdkg/id/district/evil"
    store.update(f"""
        INSERT DATA {{ GRAPH <{QG['article']}> {{
          <{evil}> a <{QDKG.District}> , <{QDKG.DistrictLevelDivision}> ;
            <{RDFS.label}> "<script>alert('label')</script>"@en ,
                           "\\"><img src=x onerror=alert(1)>"@zh ;
            <{RDFS.comment}> "<b>bold</b> & <i>more</i>"@en ;
            <{QDKG.locatedIn}> <{QID['city/qingdao']}> .
        }} }}""")
    config = Config(build_dir=build_dir, testing=True)
    return create_app(config, runtime=Runtime(config, store)).test_client()


@pytest.mark.parametrize("path", [
    "/doc/district/evil.html?lang=en", "/doc/district/evil.html?lang=zh", "/?lang=en", "/?lang=zh",
    "/doc/city/qingdao.html?lang=en",
])
def test_markup_in_the_data_is_escaped(hostile_client, path):
    html = hostile_client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<script>alert" not in html
    assert "<img src=x" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;" in html or "&lt;img src=x" in html


# --- the protocol over real HTTP ---------------------------------------------------------------


def _request(server, method: str, path: str, headers: dict[str, str] | None = None):
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


def test_303_then_negotiated_document_over_http(server, sample):
    path = _local(sample["district"])
    response, _ = _request(server, "GET", path, {"Accept": "text/turtle"})
    assert response.status == 303
    location = response.getheader("Location")
    assert location == "/doc/district/chengyang"
    assert f'<{location}>; rel="describedby"' in response.getheader("Link")
    response, body = _request(server, "GET", location, {"Accept": "text/turtle"})
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("text/turtle")
    assert set(map(str.strip, response.getheader("Vary").split(","))) >= {"Accept"}
    links = response.getheader("Link")
    for ext in ("ttl", "jsonld", "nt", "rdf", "html", "trig", "nq"):
        assert f'<{location}.{ext}>; rel="alternate"' in links
    assert f'<{sample["district"]}>; rel="describes"' in links
    graph = Graph().parse(data=body, format="turtle")
    assert (URIRef(sample["district"]), RDFS.label, Literal("城阳区", lang="zh")) in graph


def test_rdflib_follows_our_iri_like_any_linked_data_client(server, sample):
    graph = Graph()
    graph.parse(server.url + _local(sample["person"]))
    labels = {o.language for o in graph.objects(URIRef(sample["person"]), RDFS.label)}
    assert labels == {"zh", "en"}


def test_alternate_links_name_working_formats(server, sample):
    path = _doc(sample["statement"])
    response, _ = _request(server, "GET", path, {"Accept": "text/turtle"})
    for target, media in re.findall(r'<([^>]+)>; rel="alternate"; type="([^"]+)"',
                                    response.getheader("Link")):
        linked, body = _request(server, "GET", target)
        assert linked.status == 200 and linked.getheader("Content-Type").startswith(media)
        assert body


def test_head_and_conditional_get(server, sample):
    path = _doc(sample["span"])
    for accept in ("text/turtle", "text/html", "application/ld+json"):
        full, body = _request(server, "GET", path, {"Accept": accept})
        head, head_body = _request(server, "HEAD", path, {"Accept": accept})
        assert head.status == 200 and head_body == b""
        assert head.getheader("ETag") == full.getheader("ETag")
        assert head.getheader("Content-Type") == full.getheader("Content-Type")
        assert int(head.getheader("Content-Length")) == len(body)
        etag = full.getheader("ETag")
        cached, cached_body = _request(server, "GET", path,
                                       {"Accept": accept, "If-None-Match": etag})
        assert cached.status == 304 and cached_body == b""
        assert cached.getheader("ETag") == etag
        weak, _ = _request(server, "GET", path, {"Accept": accept, "If-None-Match": f"W/{etag}"})
        assert weak.status == 304  # If-None-Match compares weakly (RFC 9110)
        stale, _ = _request(server, "GET", path, {"Accept": accept, "If-None-Match": '"stale"'})
        assert stale.status == 200
    turtle, _ = _request(server, "GET", path, {"Accept": "text/turtle"})
    html, _ = _request(server, "GET", path, {"Accept": "text/html"})
    zh, _ = _request(server, "GET", path, {"Accept": "text/html", "Accept-Language": "en"})
    assert len({turtle.getheader("ETag"), html.getheader("ETag"), zh.getheader("ETag")}) == 3


def test_404_over_http_for_people_and_programs(server):
    page, body = _request(server, "GET", "/id/person/wang-qingyan", {"Accept": "text/html"})
    assert page.status == 404 and b"/id/person/wang-qingyuan" in body
    text, body = _request(server, "GET", "/id/person/wang-qingyan", {"Accept": "text/turtle"})
    assert text.status == 404 and text.getheader("Content-Type").startswith("text/plain")


# --- the helpers the pages use -----------------------------------------------------------------


def test_decimal_formatting():
    assert format_decimal("40000000000") == "40,000,000,000"
    assert format_decimal("12400.0") == "12,400"
    assert format_decimal("12.50") == "12.5"
    assert format_decimal("0.3333333333") == "0.3333333333"
    assert format_decimal("-1234.5") == "-1,234.5"
    assert format_decimal("not a number") == "not a number"
    assert human_value("154", str(QID["unit/percent"]), "percent", "en") == "154%"
    assert human_value("5", "https://example.org/unit/x", "widgets", "en") == "5 widgets"


def test_quote_in_context_cuts_sentence_and_paragraph():
    text = "标题\n前一句。“引号里的一句，数字100亿元在此。”后面的话。\n下一段。"
    begin = text.index("100亿元")
    quote = quote_in_context(text, begin, begin + len("100亿元"))
    assert quote is not None
    assert quote.before == "前一句。"
    assert quote.sentence == "“引号里的一句，数字100亿元在此。”"
    assert quote.after == "后面的话。"
    assert quote_in_context(text, 5, 2) is None and quote_in_context(text, 0, 999) is None


def test_language_choice():
    assert choose_language(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert choose_language(None, "en-GB,en;q=0.9") == "en"
    assert choose_language(None, "fr, en;q=0.5") == "en"
    assert choose_language("en", "zh-CN") == "en"
    assert choose_language("xx", None) in ("zh", "en")
