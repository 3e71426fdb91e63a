"""Every span's quote matches the shipped article at its offsets; every statement and entity has evidence."""

from __future__ import annotations

from collections import Counter

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from qdkg.namespaces import NIF, QDKG, QID
from qdkg.paths import GRAPH_DIR, article_text


@pytest.fixture(scope="module")
def facts() -> Graph:
    g = Graph()
    for path in sorted(GRAPH_DIR.glob("*.ttl")):
        g.parse(path, format="turtle")
    return g


def test_article_text_shipped_unchanged():
    text = article_text()
    assert len(text) == 5704
    assert text.count("\n") > 50


def test_every_span_quotes_the_text_at_its_offsets(facts):
    text = article_text()
    spans = list(facts.subjects(RDF.type, QDKG.TextSpan))
    assert spans, "no spans in the graph"
    for span in spans:
        begin = int(facts.value(span, NIF.beginIndex))
        end = int(facts.value(span, NIF.endIndex))
        anchor = str(facts.value(span, NIF.anchorOf))
        assert text[begin:end] == anchor, f"{span}: text[{begin}:{end}]={text[begin:end]!r} != {anchor!r}"
        assert span == QID[f"span/{begin}-{end}"], f"{span} should be named qid:span/{begin}-{end}"


def test_every_evidence_target_is_a_declared_span(facts):
    for subject, span in facts.subject_objects(QDKG.evidence):
        assert (span, RDF.type, QDKG.TextSpan) in facts, f"{subject} cites undeclared span {span}"


def test_every_statement_has_evidence(facts):
    for statement in facts.subjects(RDF.type, QDKG.QuantitativeStatement):
        assert facts.value(statement, QDKG.evidence) is not None, f"{statement} has no evidence"


def test_every_labelled_resource_has_one_zh_and_one_en_label(facts):
    for subject in set(facts.subjects(RDFS.label, None)):
        langs = Counter(
            label.language for label in facts.objects(subject, RDFS.label) if isinstance(label, Literal)
        )
        assert langs == Counter({"zh": 1, "en": 1}), f"{subject}: labels by language {dict(langs)}"


def test_minted_iris_are_readable(facts):
    import re

    pattern = re.compile(r"^https://w3id\.org/qdkg/id/[a-z-]+/[a-z0-9][a-z0-9.-]*$")
    for term in set(facts.subjects()) | set(facts.objects()):
        if isinstance(term, URIRef) and str(term).startswith(str(QID)):
            assert pattern.match(str(term)), f"unreadable IRI {term}"
