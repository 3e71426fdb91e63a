"""The ontology's HTML documentation, in zh and en: every term with its labels, definition,
hierarchy, domain and range, the SHACL shapes that constrain it and an example from the graph.
Expectations are read from the store (graphs qg:ontology and qg:shapes), not written down."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest

from qdkg.app import runtime_of
from qdkg.namespaces import GRAPH_ONTOLOGY, GRAPH_SHAPES, QDKG

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SH = "http://www.w3.org/ns/shacl#"
OWL = "http://www.w3.org/2002/07/owl#"


class _Blocks(HTMLParser):
    """The text and links of each element with an id (a term or shape block)."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: dict[str, list[str]] = {}
        self.hrefs: dict[str, list[str]] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        block = attributes.get("id") if attributes.get("class") == "term" else None
        self._open.append((tag, block))
        if block:
            self.blocks[block] = []
            self.hrefs[block] = []
        for _, name in self._open:
            if name and tag == "a" and attributes.get("href"):
                self.hrefs[name].append(attributes["href"])

    def handle_endtag(self, tag):
        while self._open:
            opened, _ = self._open.pop()
            if opened == tag:
                break

    def handle_data(self, data):
        for _, name in self._open:
            if name:
                self.blocks[name].append(data)


def _page(client, lang: str) -> _Blocks:
    response = client.get(f"/ontology?lang={lang}", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    parser = _Blocks()
    parser.feed(response.get_data(as_text=True))
    return parser


@pytest.fixture(scope="module")
def pages(app):
    client = app.test_client()
    return {lang: _page(client, lang) for lang in ("zh", "en")}


def _rows(app, query: str) -> list:
    return list(runtime_of(app).store.query(query))


def _text(pages, lang: str, term: str) -> str:
    anchor = term.removeprefix(str(QDKG))
    assert anchor in pages[lang].blocks, f"no block id={anchor} in the {lang} page"
    return " ".join("".join(pages[lang].blocks[anchor]).split())


def _terms(app) -> list[str]:
    return [r["t"].value for r in _rows(app, f"""
        SELECT DISTINCT ?t WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{
          ?t a ?type FILTER(?type IN (<{OWL}Class>, <{OWL}ObjectProperty>, <{OWL}DatatypeProperty>))
          FILTER(STRSTARTS(STR(?t), "{QDKG}")) }} }} ORDER BY ?t""")]


def test_every_term_has_its_block_with_labels_and_definition_in_both_languages(app, pages):
    terms = _terms(app)
    assert len(terms) > 20
    for term in terms:
        for lang in ("zh", "en"):
            text = _text(pages, lang, term)
            for row in _rows(app, f"""SELECT ?p ?v WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{
                    <{term}> ?p ?v FILTER(?p IN (<{RDFS}label>, <{SKOS}definition>))
                    FILTER(LANG(?v) = "{lang}") }} }}"""):
                value = " ".join(row["v"].value.split())
                if row["p"].value == f"{SKOS}definition" or row["p"].value == f"{RDFS}label":
                    assert value in text, f"{term}: {value!r} missing from the {lang} page"


def test_hierarchy_domain_and_range_are_shown_and_linked(app, pages):
    rows = _rows(app, f"""SELECT ?p ?d ?r WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{
        ?p <{RDFS}domain> ?d ; <{RDFS}range> ?r
        FILTER(STRSTARTS(STR(?p), "{QDKG}") && STRSTARTS(STR(?d), "{QDKG}")
               && STRSTARTS(STR(?r), "{QDKG}")) }} }} ORDER BY ?p LIMIT 5""")
    assert rows
    for row in rows:
        anchor = row["p"].value.removeprefix(str(QDKG))
        hrefs = pages["en"].hrefs[anchor]
        assert "#" + row["d"].value.removeprefix(str(QDKG)) in hrefs
        assert "#" + row["r"].value.removeprefix(str(QDKG)) in hrefs
    sub = _rows(app, f"""SELECT ?c ?super WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{
        ?c <{RDFS}subClassOf> ?super FILTER(STRSTARTS(STR(?c), "{QDKG}")
        && STRSTARTS(STR(?super), "{QDKG}")) }} }} LIMIT 1""")[0]
    child, parent = (sub[k].value.removeprefix(str(QDKG)) for k in ("c", "super"))
    assert "#" + parent in pages["en"].hrefs[child]
    assert "#" + child in pages["en"].hrefs[parent], "subclasses listed on the superclass"


def test_shapes_that_constrain_a_term_are_listed_with_it(app, pages):
    by_class = _rows(app, f"""SELECT ?shape ?term ?label WHERE {{ GRAPH <{GRAPH_SHAPES}> {{
        ?shape <{SH}targetClass> ?term ; <{RDFS}label> ?label FILTER(LANG(?label) = "en")
        FILTER(isIRI(?shape)) }} }} ORDER BY ?shape LIMIT 10""")
    by_path = _rows(app, f"""SELECT ?shape ?term ?label WHERE {{ GRAPH <{GRAPH_SHAPES}> {{
        ?shape <{SH}path> ?term ; <{RDFS}label> ?label FILTER(LANG(?label) = "en")
        FILTER(isIRI(?shape) && isIRI(?term) && STRSTARTS(STR(?term), "{QDKG}")) }} }}
        ORDER BY ?shape LIMIT 10""")
    assert by_class and by_path, "the shapes graph has no shapes to check"
    for row in by_class + by_path:
        term = row["term"].value
        if not term.startswith(str(QDKG)):
            continue
        assert " ".join(row["label"].value.split()) in _text(pages, "en", term)


def test_an_example_instance_from_the_graph_is_linked(app, pages):
    example = _rows(app, f"""SELECT ?x WHERE {{ ?x a <{QDKG.QuantitativeStatement}> }}""")
    instances = {r["x"].value for r in example}
    hrefs = [h.split("?")[0] for h in pages["en"].hrefs["QuantitativeStatement"]]
    assert any("/" + i.removeprefix("https://w3id.org/qdkg/") in hrefs for i in instances)
    measure = pages["en"].hrefs["measure"]
    assert any(h.startswith("/id/measure/") for h in measure), "no example value for the property"


def test_the_page_is_escaped_and_says_its_version(app, client):
    body = client.get("/ontology?lang=en", headers={"Accept": "text/html"}).get_data(as_text=True)
    version = _rows(app, f"""SELECT ?v WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{
        ?o <{OWL}versionInfo> ?v }} }}""")[0]["v"].value
    assert html.escape(version) in body
    assert "<script" not in body
    assert '<link rel="alternate" type="text/turtle" href="/ontology.ttl">' in body


def test_versioned_and_shapes_iris_serve_the_documentation(app, client):
    version = _rows(app, f"""SELECT ?v WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{
        ?o <{OWL}versionInfo> ?v }} }}""")[0]["v"].value
    current = client.get("/ontology?lang=zh", headers={"Accept": "text/html"})
    versioned = client.get(f"/ontology/{version}?lang=zh", headers={"Accept": "text/html"})
    assert current.headers["Content-Language"] == versioned.headers["Content-Language"] == "zh"
    assert versioned.status_code == 200
    main = current.get_data(as_text=True).split("<main>")[1].split('<section class="formats">')[0]
    assert main in versioned.get_data(as_text=True)
    assert f'href="/ontology/{version}.ttl"' in versioned.get_data(as_text=True)
    shape = _rows(app, f"""SELECT ?s WHERE {{ GRAPH <{GRAPH_SHAPES}> {{ ?s a <{SH}NodeShape>
        FILTER(isIRI(?s)) }} }} ORDER BY ?s LIMIT 1""")[0]["s"].value
    shapes = client.get("/shapes?lang=zh", headers={"Accept": "text/html"})
    assert shapes.status_code == 200
    assert f'id="{shape.rsplit("#", 1)[1]}"' in shapes.get_data(as_text=True)
