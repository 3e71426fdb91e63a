"""The query page over the real app: the page and its policy, the vocabulary, the examples."""

from __future__ import annotations

import json
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.plugins.sparql.parser import parseQuery

from qdkg.app import create_app
from qdkg.build import DATASET_FILE
from qdkg.config import Config
from qdkg.examples import parse_example
from qdkg.namespaces import QDKG, QID
from qdkg.pages import DEFAULT_LANGUAGE
from qdkg.paths import EXTERNAL_DIR, GRAPH_DIR, ONTOLOGY_DIR, QUERIES_DIR
from qdkg.runtime import Runtime
from qdkg.store import OxigraphStore
from qdkg.web.query_page import editor_text

PROPERTY_TYPES = {OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property}
MESSAGES = json.loads(
    (Path(__file__).parents[1] / "service/qdkg/static/query/messages.json").read_text("utf-8")
)


class PageParser(HTMLParser):
    """Collects what the Content-Security-Policy cares about: scripts, styles, resource URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.style_elements = 0
        self.style_attributes = 0
        self.event_handlers: list[str] = []
        self.resources: list[str] = []
        self.root: dict[str, str | None] = {}
        self.html_lang: str | None = None
        self.lang_links: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        if tag == "script":
            if a.get("src"):
                self.resources.append(a["src"] or "")
            else:
                self.inline_scripts += 1
        if tag == "style":
            self.style_elements += 1
        if tag == "link" and a.get("rel") == "stylesheet":
            self.resources.append(a.get("href") or "")
        if "style" in a:
            self.style_attributes += 1
        self.event_handlers += [name for name in a if name.startswith("on")]
        if a.get("id") == "query-page":
            self.root = a
        if tag == "a" and a.get("hreflang"):
            self.lang_links[a["hreflang"] or ""] = a.get("href") or ""


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


def test_page_is_served_under_a_strict_content_security_policy(client):
    response = client.get("/query", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    header = response.headers["Content-Security-Policy"]
    policy = dict((part.strip().split(" ", 1) + [""])[:2] for part in header.split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert "unsafe" not in header

    page = parse_page(response.get_data(as_text=True))
    assert page.inline_scripts == 0 and page.event_handlers == []
    assert page.style_elements == 0 and page.style_attributes == 0
    assert page.root["data-endpoint"] == "/sparql"
    json.loads(page.root["data-messages"] or "")  # the scripts' text travels as JSON, not code
    for url in page.resources:
        assert url.startswith("/"), f"{url} is not served by the service"
        asset = client.get(url)
        assert asset.status_code == 200, url
        asset.close()


def test_page_assets_include_the_vendored_editor_and_its_licences(client):
    editor = client.get("/static/query/vendor/codemirror.js")
    licences = client.get("/static/query/vendor/THIRD-PARTY-LICENSES.txt")
    assert editor.status_code == 200 and b"sparql" in editor.data
    assert licences.status_code == 200 and b"@codemirror/view" in licences.data
    editor.close()
    licences.close()


@pytest.mark.parametrize(
    ("accept_language", "query_string", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.5", "", "zh"),
        ("en-GB,en;q=0.9", "", "en"),
        ("fr-FR", "", DEFAULT_LANGUAGE),
        ("en", "?lang=zh", "zh"),
        ("zh-CN", "?lang=en", "en"),
    ],
)
def test_page_language_follows_accept_language_and_the_switch(
    client, accept_language, query_string, expected
):
    response = client.get("/query" + query_string, headers={"Accept-Language": accept_language})
    html = unescape(response.get_data(as_text=True))
    assert response.headers["Content-Language"] == expected
    assert "Accept-Language" in response.headers["Vary"]
    assert parse_page(html).root["data-lang"] == expected
    assert MESSAGES[expected]["intro"] in html
    other = "en" if expected == "zh" else "zh"
    assert MESSAGES[other]["intro"] not in html


def test_language_switch_keeps_the_query_and_view(client):
    query = 'SELECT * WHERE { ?s ?p "城阳区"@zh }'
    response = client.get("/query", query_string={"query": query, "view": "bar", "lang": "en"})
    links = parse_page(response.get_data(as_text=True)).lang_links
    target = parse_qs(urlsplit(links["zh"]).query)
    assert target == {"query": [query], "view": ["bar"], "lang": ["zh"]}


@pytest.mark.parametrize("query_string", ["?lang=fr", "?view=pie"])
def test_bad_page_parameters_are_a_clear_400(client, query_string):
    response = client.get("/query" + query_string, headers={"Accept": "text/plain"})
    assert response.status_code == 400
    message = response.get_data(as_text=True)
    assert "must be one of" in message and "Traceback" not in message


def _source_graph(*directories: Path) -> Graph:
    graph = Graph()
    for directory in directories:
        for path in sorted(directory.glob("*.ttl")):
            graph.parse(path, format="turtle")
    return graph


def _labels(graph: Graph, subject: URIRef) -> dict[str, str]:
    return {
        o.language: str(o)
        for o in graph.objects(subject, RDFS.label)
        if isinstance(o, Literal) and o.language in ("zh", "en")
    }


@pytest.fixture(scope="module")
def vocabulary(app):
    response = app.test_client().get("/query/vocabulary.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_vocabulary_has_every_ontology_term_with_its_zh_and_en_labels(vocabulary):
    ontology = _source_graph(ONTOLOGY_DIR)
    terms = {term["iri"]: term for term in vocabulary["terms"]}
    properties = {s for t in PROPERTY_TYPES for s in ontology.subjects(RDF.type, t)
                  if str(s).startswith(str(QDKG))}
    classes = {s for s in ontology.subjects(RDF.type, OWL.Class) if str(s).startswith(str(QDKG))}
    assert properties and classes
    for iri, kind in [(p, "property") for p in properties] + [(c, "class") for c in classes]:
        term = terms[str(iri)]
        assert term["kind"] == kind, iri
        assert term["curie"] == "qdkg:" + str(iri)[len(str(QDKG)):]
        assert term["label"] == _labels(ontology, iri), iri
        assert set(term["label"]) == {"zh", "en"}, iri
    assert terms[str(QDKG.measure)]["definition"]


def test_vocabulary_has_every_labelled_entity_with_its_labels(vocabulary):
    facts = _source_graph(GRAPH_DIR, EXTERNAL_DIR, ONTOLOGY_DIR)
    expected = {
        s for s in facts.subjects(RDFS.label)
        if isinstance(s, URIRef) and str(s).startswith(str(QID)) and _labels(facts, s)
    }
    entities = {entity["iri"]: entity for entity in vocabulary["entities"]}
    assert set(entities) == {str(s) for s in expected}
    chengyang = entities[str(QID["district/chengyang"])]
    assert chengyang["curie"] == "qid:district/chengyang"
    assert chengyang["label"] == _labels(facts, QID["district/chengyang"])
    assert "城阳" in chengyang["label"]["zh"] and "Chengyang" in chengyang["label"]["en"]
    assert chengyang["types"] == sorted(
        "qdkg:" + str(t)[len(str(QDKG)):]
        for t in facts.objects(QID["district/chengyang"], RDF.type) if str(t).startswith(str(QDKG))
    )


def test_vocabulary_is_cached_per_store_version(build_dir):
    store = OxigraphStore()
    store.load_file(build_dir / DATASET_FILE)
    config = Config(build_dir=build_dir, testing=True)
    client = create_app(config, Runtime(config, store)).test_client()

    first = client.get("/query/vocabulary.json")
    etag = first.headers["ETag"]
    assert client.get("/query/vocabulary.json", headers={"If-None-Match": etag}).status_code == 304

    store.update(
        "INSERT DATA { GRAPH <https://w3id.org/qdkg/graph/change/query-page-test> {"
        f" <{QID['district/query-page-test']}> <{RDFS.label}> \"测试区\"@zh, \"Test District\"@en"
        " } }"
    )
    second = client.get("/query/vocabulary.json", headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["ETag"] != etag
    added = [e for e in second.get_json()["entities"]
             if e["curie"] == "qid:district/query-page-test"]
    assert added and added[0]["label"] == {"zh": "测试区", "en": "Test District"}


def test_examples_list_every_query_file_with_titles_in_both_languages(client):
    response = client.get("/query/examples.json")
    examples = {example["name"]: example for example in response.get_json()}
    files = sorted(QUERIES_DIR.glob("*.rq"))
    assert files, "no example queries are installed"
    assert sorted(examples) == [path.stem for path in files]
    for path in files:
        example = examples[path.stem]
        for field in ("title", "description"):
            assert example[field].get("zh") and example[field].get("en"), (path.name, field)
        assert example["view"] in ("table", "bar", "line")
        assert not example["query"].lstrip().startswith(("# title", "# description", "# view"))
        assert example["query"].strip() in path.read_text("utf-8")
        parseQuery(example["query"])  # the page loads a query that parses as SPARQL 1.1
        assert example["query"] == editor_text(parse_example(path).query)


def test_editor_text_drops_only_the_bilingual_header():
    query = (
        "# title@en: T\n# title@zh: 题\n# description@en: D\n# view: bar\n\n"
        "# Counts per district.\nSELECT * WHERE { ?s ?p ?o }\n"
    )
    assert editor_text(query) == "# Counts per district.\nSELECT * WHERE { ?s ?p ?o }\n"
