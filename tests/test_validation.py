"""POST /validate: submissions checked in the context of the stored graph, with its closure.

Reports are compared structurally (focus node, path, shape, component, severity), never by
message text. Every fixture of shapes/fixtures/manifest.ttl is sent through the service, so
each shape is exercised by at least one violating submission.
"""

from __future__ import annotations

import json

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, SH

from qdkg.app import runtime_of
from qdkg.closure import inferences_by_owlrl, inferences_of_additions, inferences_of_change
from qdkg.submission import parse
from qdkg.terms import triple_of
from qdkg.validation import checker_of
from stewardship_samples import QID, road, span, statement, turtle
from test_shapes import load_manifest

QSH = Namespace("https://w3id.org/qdkg/shapes#")
QDKG = Namespace("https://w3id.org/qdkg/ontology#")
BACKGROUND, CASES = load_manifest()


def keys(report: Graph) -> set[tuple]:
    return {
        tuple(report.value(r, p) for p in (SH.focusNode, SH.resultPath, SH.sourceShape,
                                            SH.sourceConstraintComponent, SH.resultSeverity))
        for r in report.subjects(RDF.type, SH.ValidationResult)
    }


def post(client, data: bytes, media: str = "text/turtle", accept: str = "application/json",
         **headers: str):
    return client.post("/validate", data=data, content_type=media,
                       headers={"Accept": accept, **headers})


def results(body: dict) -> list[dict]:
    return [r for resource in body["report"]["resources"] for r in resource["results"]]


@pytest.fixture(scope="module")
def background(app) -> bytes:
    """The fixtures' small world, minus the resources the stored graph already describes (the
    concepts and schemes both define): in context, they are the stored ones."""
    store = runtime_of(app).store
    graph = Graph().parse(BACKGROUND, format="turtle")
    kept = Graph()
    for s, p, o in graph:
        if not bool(store.query(f"ASK {{ <{s}> ?p ?o }}")):
            kept.add((s, p, o))
    return kept.serialize(format="nt", encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_fixture_gives_the_manifest_results(client, background, case):
    data = background
    if case.data != BACKGROUND:
        data += Graph().parse(case.data, format="turtle").serialize(format="nt", encoding="utf-8")
    response = post(client, data, media="application/n-triples", accept="text/turtle")
    assert response.status_code == 200
    report = Graph().parse(data=response.data, format="turtle")
    assert keys(report) == set(case.expected)
    conforms = report.value(next(report.subjects(RDF.type, SH.ValidationReport)), SH.conforms)
    assert conforms == Literal(not any(k[4] == SH.Violation for k in case.expected))


def test_every_shape_has_a_case_sent_through_the_service():
    from test_shapes import shapes_graph, top_level_shapes

    assert {key[2] for case in CASES for key in case.expected} == top_level_shapes(shapes_graph())


def test_conforming_submission_in_context(client):
    response = post(client, turtle(road("v-conforming"), statement("v-conforming",
                                                                   "project/v-conforming")))
    body = response.get_json()
    assert response.status_code == 200
    assert body["conforms"] is True
    assert results(body) == []


def test_the_stored_graph_is_the_context(client):
    """About an existing district: fine. About an IRI nobody describes: the shape fires."""
    known = post(client, turtle(statement("v-known", "district/chengyang"))).get_json()
    unknown = post(client, turtle(statement("v-unknown", "district/chengyangg"))).get_json()
    assert known["conforms"] is True
    failing = {(r["focusNode"]["value"], r["sourceShape"]["value"]) for r in results(unknown)}
    assert (QID + "district/chengyangg", str(QSH.ReferencedEntityShape)) in failing
    assert unknown["conforms"] is False


def test_closure_gives_superclass_shapes(client):
    """A RoadProject is a Project by the ontology, so the project shapes apply to it."""
    body = post(client, turtle(road("v-nowhere").replace(
        "    qdkg:locatedIn <district/chengyang> .", "    a qdkg:RoadProject ."))).get_json()
    found = {(r["focusNode"]["value"], r["sourceShape"]["value"], r["sourceConstraintComponent"])
             for r in results(body)}
    assert (QID + "project/v-nowhere", str(QSH.ProjectLocatedInShape),
            str(SH.MinCountConstraintComponent)) in found


def test_warning_only_submission_conforms(client):
    body = post(client, turtle(road("v-warning", evidence=False))).get_json()
    assert body["conforms"] is True
    found = results(body)
    assert found and {r["resultSeverity"] for r in found} == {str(SH.Warning)}
    assert {r["sourceShape"]["value"] for r in found} == {str(QSH.EntityEvidenceShape)}
    assert all(r["hint"] for r in found)


def test_only_touched_nodes_are_reported(client):
    """One triple about Chengyang: whatever is reported is about what the triple touches."""
    data = turtle('<district/chengyang> rdfs:comment "A note"@en .')
    body = post(client, data).get_json()
    assert {r["focusNode"]["value"] for r in results(body)} <= {QID + "district/chengyang"}


def test_report_structure_labels_and_hints(client):
    body = post(client, turtle(road("v-labels", labels=False))).get_json()
    report = body["report"]
    assert report["counts"]["violations"] == len(
        [r for r in results(body) if r["resultSeverity"] == str(SH.Violation)]) > 0
    for resource in report["resources"]:
        for result in resource["results"]:
            assert result["focusNode"] == resource["node"]
            assert result["message"] and result["hint"]
            assert set(result["messages"]) >= {"en", "zh"}
    district = [r for r in results(body) if r["value"] and r["value"]["value"].endswith(
        "district/chengyang")]
    assert all(r["valueLabel"] for r in district)


def test_messages_in_the_readers_language(client):
    data = turtle(road("v-lang", labels=False))
    zh = post(client, data, **{"Accept-Language": "zh-CN,zh;q=0.9"}).get_json()
    en = client.post("/validate?lang=en", data=data, content_type="text/turtle",
                     headers={"Accept": "application/json", "Accept-Language": "zh"}).get_json()
    assert zh["report"]["language"] == "zh" and en["report"]["language"] == "en"
    for z, e in zip(results(zh), results(en), strict=True):
        assert z["message"] == z["messages"]["zh"] and e["message"] == e["messages"]["en"]
        assert z["hint"] == z["hints"]["zh"] != e["hint"]


def test_html_report_for_people(client):
    """Resources and values by their labels (from the submission and from the store), the
    shape's message in the reader's language, and what to change."""
    measure = "measure/investment-completed"
    data = turtle(statement("v-html", measure))  # a statement about a measure: not allowed
    json_body = post(client, data, **{"Accept-Language": "zh"}).get_json()
    response = post(client, data, accept="text/html", **{"Accept-Language": "zh"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    [result] = [r for r in results(json_body)
                if r["value"] and r["value"]["value"] == QID + measure]
    stored_label = runtime_of(client.application).store.query(
        f'SELECT ?l WHERE {{ <{QID}{measure}> <http://www.w3.org/2000/01/rdf-schema#label> ?l '
        'FILTER(LANG(?l) = "zh") }')
    assert result["valueLabel"] == next(iter(stored_label))["l"].value
    assert result["valueLabel"] in page
    assert "测试陈述v-html" in page  # the focus node by its submitted label
    assert result["messages"]["zh"] in page and result["hints"]["zh"] in page


def test_json_ld_report_parses(client):
    response = post(client, turtle(road("v-jsonld", labels=False)), accept="application/ld+json")
    report = Graph().parse(data=response.data, format="json-ld")
    assert keys(report)
    assert (None, RDF.type, SH.ValidationReport) in report


def test_blank_nodes_are_reported_as_submitted(client):
    data = turtle("_:road a qdkg:RoadProject ; qdkg:locatedIn <district/chengyang> .")
    body = post(client, data).get_json()
    focus = {r["focusNode"]["type"] + ":" + r["focusNode"]["value"] for r in results(body)}
    assert "bnode:road" in focus
    report = Graph().parse(data=post(client, data, accept="text/turtle").data, format="turtle")
    assert all(isinstance(k[0], BNode) for k in keys(report))


@pytest.mark.parametrize("media, data, line", [
    ("text/turtle", b'@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nex:a ex:b "open .\n', 3),
    ("application/n-triples", b"<http://a> <http://b> <http://c> .\n<http://a> <http://b> <c .\n",
     2),
    ("application/ld+json", b'{"@id": "http://a",\n "http://b": [1,}', 2),
    ("application/rdf+xml", b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
     b'02/22-rdf-syntax-ns#">\n<rdf:Description rdf:about="http://a">\n</rdf:RDF>\n', 4),
])
def test_unparseable_input_is_400_with_line_and_column(client, media, data, line):
    response = post(client, data, media=media)
    body = response.get_json()
    assert response.status_code == 400
    assert body["line"] == line and isinstance(body["column"], int)
    assert f"line {line}, column {body['column']}" in body["error"]


def test_remote_json_ld_context_is_not_fetched(client):
    data = json.dumps({"@context": "http://127.0.0.1:9/context.jsonld", "@id": QID + "x",
                       "label": "x"}).encode()
    response = post(client, data, media="application/ld+json")
    assert response.status_code == 400
    assert "http://127.0.0.1:9/context.jsonld" in response.get_json()["error"]


def test_inline_json_ld_context_is_fine(client):
    data = json.dumps({
        "@context": {"rdfs": "http://www.w3.org/2000/01/rdf-schema#",
                     "label": {"@id": "rdfs:label", "@language": "en"}},
        "@id": QID + "district/chengyang", "label": "Chengyang note"}).encode()
    body = post(client, data, media="application/ld+json").get_json()
    found = {(r["focusNode"]["value"], r["sourceShape"]["value"]) for r in results(body)}
    assert (QID + "district/chengyang", str(QSH.LabelEnShape)) in found  # now two @en labels


def test_xml_external_entities_are_refused(client):
    data = (b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            b'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">\n'
            b'<rdf:Description rdf:about="https://w3id.org/qdkg/id/district/chengyang">'
            b"<rdfs:comment>&e;</rdfs:comment></rdf:Description>\n</rdf:RDF>")
    response = post(client, data, media="application/rdf+xml")
    assert response.status_code == 400
    assert "root:" not in response.get_data(as_text=True)


def test_owl_imports_are_not_followed(client):
    data = turtle("<district/chengyang> <http://www.w3.org/2002/07/owl#imports> "
                  "<http://127.0.0.1:9/ontology.ttl> .")
    response = post(client, data)
    assert response.status_code == 200
    assert {r["focusNode"]["value"] for r in results(response.get_json())} <= {
        QID + "district/chengyang"}


def test_unsupported_media_type_is_415_with_the_list(client):
    response = post(client, b"a,b,c\n", media="text/csv")
    assert response.status_code == 415
    assert "text/turtle" in response.get_json()["error"]
    assert "application/ld+json" in response.get_json()["error"]


@pytest.mark.parametrize("media", ["application/trig", "application/n-quads",
                                   "application/rdf+xml", "application/ld+json"])
def test_every_syntax_is_accepted(client, media):
    graph = Graph().parse(data=turtle(road("v-syntax")), format="turtle")
    if media in ("application/trig", "application/n-quads"):
        data = graph.serialize(format="nt", encoding="utf-8")  # N-Triples is valid TriG/N-Quads
    else:
        data = graph.serialize(format="xml" if "xml" in media else "json-ld", encoding="utf-8")
    body = post(client, data, media=media).get_json()
    assert body["conforms"] is True


def test_validation_form_page(client):
    response = client.get("/validate?lang=zh")
    assert response.status_code == 200 and "<textarea" in response.get_data(as_text=True)
    filled = client.post("/validate", data={"data": turtle(road("v-form", labels=False)).decode(),
                                            "type": "text/turtle"},
                         headers={"Accept": "text/html"})
    assert filled.status_code == 200 and "LabelZhShape" in filled.get_data(as_text=True)


@pytest.mark.slow
def test_fast_closure_equals_owlrl(app):
    """The fast path (an addition, reasoned over its neighbourhood) gives what reasoning over
    the whole state gives, and that equals owlrl's closure of the whole new state, for a change
    that adds and removes: transitive chains, inverses, sub-properties, domains, ranges."""
    runtime = runtime_of(app)
    store, ontology = runtime.store, checker_of(runtime).ontology
    span_path, span_turtle = span()
    data = turtle(
        road("v-closure"),
        f"""<town/v-closure> a qdkg:Town ; rdfs:label "测试镇"@zh , "Test town"@en ;
            qdkg:locatedIn <district/chengyang> ; qdkg:evidence <{span_path}> .
        <project/v-closure-2> a qdkg:ParkProject ; qdkg:locatedIn <town/v-closure> ;
            rdfs:label "测试公园"@zh , "Test park"@en ; qdkg:evidence <{span_path}> .
        <person/v-closure> qdkg:holdsPost <post/chengyang-district-head> .""",
        span_turtle,
    )
    added = parse(data, "text/turtle", QID).triples
    located = URIRef(QDKG.locatedIn)
    article = [triple_of(q) for q in store.quads("https://w3id.org/qdkg/graph/article")]
    removed = [t for t in article if t[1] == located][:3] + [t for t in article if t[1] == RDF.type
                                                              and "/statement/" in t[0]][:2]
    fast_add = inferences_of_additions(store, ontology, added)
    whole_add = inferences_of_change(store, ontology, added, [])  # the chainer, everything
    fast_change = inferences_of_change(store, ontology, added, removed)
    by_owlrl = inferences_by_owlrl(store, added, removed)
    assert set(fast_add.inferred_added) == set(whole_add.inferred_added)
    assert set(fast_add.inferred_removed) == set(whole_add.inferred_removed) == set()
    assert set(fast_change.inferred_added) == set(by_owlrl.inferred_added)
    assert set(fast_change.inferred_removed) == set(by_owlrl.inferred_removed)
    assert fast_change.inferred_removed  # the removals took inferences away
    assert (URIRef(QID + "project/v-closure-2"), located, URIRef(QID + "city/qingdao")) in set(
        fast_add.inferred_added)
