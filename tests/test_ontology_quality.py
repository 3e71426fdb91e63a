"""The ontology's quality rules (ontology/checks/*.rq) hold over ontology + shapes + facts, and the
ontology is consistent with the facts under OWL 2 RL.

Each check is a SELECT in the style of ROBOT's report queries: a comment header with the problem
and the solution, and every row it returns is a failure. They run over a dataset laid out like
the service's: the named graphs qg:ontology, qg:shapes, qg:article (graph/*.ttl) and qg:external
(graph/external/*.ttl), with the default graph their union. Each check is also shown to fail on a
deliberately broken copy, so a check that can never return a row does not pass unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import owlrl
import pytest
from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD

from qdkg.namespaces import (
    GRAPH_ARTICLE,
    GRAPH_EXTERNAL,
    GRAPH_ONTOLOGY,
    GRAPH_SHAPES,
    ONTOLOGY_IRI,
    QDKG,
    QID,
)
from qdkg.paths import EXTERNAL_DIR, GRAPH_DIR, ONTOLOGY_DIR, SHAPES_DIR

CHECKS_DIR = ONTOLOGY_DIR / "checks"
CHECKS = sorted(CHECKS_DIR.glob("*.rq"))
OWLRL_ERROR = Namespace("http://www.daml.org/2002/03/agents/agent-ont#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
# rdflib's SKOS namespace is closed, so the misspelling has to be spelt out.
SKOS_ALT_LABLE = URIRef(str(SKOS) + "altLable")

SOURCES = {
    GRAPH_ONTOLOGY: lambda: sorted(ONTOLOGY_DIR.glob("*.ttl")),
    GRAPH_SHAPES: lambda: sorted(SHAPES_DIR.glob("*.ttl")),
    GRAPH_ARTICLE: lambda: sorted(GRAPH_DIR.glob("*.ttl")),
    GRAPH_EXTERNAL: lambda: sorted(EXTERNAL_DIR.glob("*.ttl")),
}


def load_dataset() -> Dataset:
    dataset = Dataset(default_union=True)
    for name, paths in SOURCES.items():
        graph = dataset.graph(name)
        for path in paths():
            graph.parse(path, format="turtle")
    return dataset


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load_dataset()


def run_check(dataset: Dataset, check: Path) -> list[tuple]:
    return [tuple(row) for row in dataset.query(check.read_text(encoding="utf-8"))]


def short(term: object) -> str:
    text = str(term)
    for prefix, iri in (
        ("qid:", str(QID)),
        ("qdkg:", str(QDKG)),
        ("qg:", "https://w3id.org/qdkg/graph/"),
    ):
        if text.startswith(iri):
            return prefix + text[len(iri) :]
    return text


def test_checks_have_a_problem_and_a_solution() -> None:
    assert CHECKS, f"no checks in {CHECKS_DIR}"
    for check in CHECKS:
        text = check.read_text(encoding="utf-8")
        assert text.startswith("# problem:") and "\n# solution:" in text, check.name
        assert "SELECT" in text, f"{check.name}: a check is a SELECT whose rows are failures"


@pytest.mark.parametrize("check", CHECKS, ids=[c.stem for c in CHECKS])
def test_check_returns_no_rows(check: Path, dataset: Dataset) -> None:
    rows = run_check(dataset, check)
    header = "\n".join(
        line for line in check.read_text(encoding="utf-8").splitlines() if line.startswith("#")
    )
    listing = "\n".join("  " + "  ".join(short(value) for value in row) for row in rows[:50])
    assert not rows, f"{check.name}: {len(rows)} failing rows\n{header}\n{listing}"


# For each check, triples that break it (graph, triple) and the term its rows must then name.
EX = Namespace("https://w3id.org/qdkg/id/thing/")
BREAKAGES = {
    "qdkg-term-labels": (
        [(GRAPH_ONTOLOGY, (QDKG.Unlabelled, RDF.type, OWL.Class))],
        QDKG.Unlabelled,
    ),
    "qdkg-term-definitions": (
        [(GRAPH_ONTOLOGY, (QDKG.Undefined, RDF.type, OWL.Class))],
        QDKG.Undefined,
    ),
    "qdkg-term-defined-by": (
        [(GRAPH_ONTOLOGY, (QDKG.Orphan, RDF.type, OWL.ObjectProperty))],
        QDKG.Orphan,
    ),
    "object-property-literal-range": (
        [(GRAPH_ONTOLOGY, (QDKG.about, RDFS.range, XSD.string))],
        QDKG.about,
    ),
    "datatype-property-class-range": (
        [(GRAPH_ONTOLOGY, (QDKG.value, RDFS.range, QDKG.Place))],
        QDKG.value,
    ),
    "undeclared-qdkg-terms": (
        [(GRAPH_ARTICLE, (QID["district/chengyang"], QDKG.locatedln, QID["city/qingdao"]))],
        QDKG.locatedln,
    ),
    "undeclared-predicates": (
        [(GRAPH_ARTICLE, (QID["district/chengyang"], SKOS_ALT_LABLE, Literal("城阳", lang="zh")))],
        SKOS_ALT_LABLE,
    ),
    "undeclared-classes": (
        [(GRAPH_ARTICLE, (EX.x, RDF.type, URIRef("https://schema.org/Organisation")))],
        URIRef("https://schema.org/Organisation"),
    ),
    "entity-labels-per-language": (
        [
            (GRAPH_ARTICLE, (EX.twice, RDFS.label, Literal("一", lang="zh"))),
            (GRAPH_ARTICLE, (EX.twice, RDFS.label, Literal("二", lang="zh"))),
            (GRAPH_ARTICLE, (EX.twice, RDFS.label, Literal("Two", lang="en"))),
        ],
        EX.twice,
    ),
    "labels-without-language": (
        [(GRAPH_ARTICLE, (EX.plain, RDFS.label, Literal("plain")))],
        EX.plain,
    ),
    "no-skos-preflabel": (
        [(GRAPH_ARTICLE, (EX.pref, SKOS.prefLabel, Literal("首选", lang="zh")))],
        EX.pref,
    ),
}


def test_every_check_has_a_breakage() -> None:
    assert {c.stem for c in CHECKS} == set(BREAKAGES)


@contextmanager
def broken(dataset: Dataset, triples: list[tuple[URIRef, tuple]]) -> Iterator[Dataset]:
    """The dataset with `triples` added to their named graphs, for the duration of the block."""
    added = [(name, triple) for name, triple in triples if triple not in dataset.graph(name)]
    for name, triple in added:
        dataset.graph(name).add(triple)
    try:
        yield dataset
    finally:
        for name, triple in added:
            dataset.graph(name).remove(triple)


@pytest.mark.parametrize("check", CHECKS, ids=[c.stem for c in CHECKS])
def test_check_catches_its_breakage(check: Path, dataset: Dataset) -> None:
    triples, culprit = BREAKAGES[check.stem]
    with broken(dataset, triples):
        rows = run_check(dataset, check)
    assert any(culprit in row for row in rows), f"{check.name} did not report {culprit}: {rows}"


def test_a_misspelt_term_in_the_facts_is_caught(dataset: Dataset) -> None:
    """The typo of the counter-example: qdkg:locatedln (ell-en) for qdkg:locatedIn."""
    typo = (QID["district/pingdu"], QDKG.locatedln, QID["city/qingdao"])
    with broken(dataset, [(GRAPH_ARTICLE, typo)]):
        rows = run_check(dataset, CHECKS_DIR / "undeclared-qdkg-terms.rq")
    assert (QDKG.locatedln, GRAPH_ARTICLE) in rows
    assert not run_check(dataset, CHECKS_DIR / "undeclared-qdkg-terms.rq"), (
        "the typo was not taken out again"
    )


def test_ontology_header() -> None:
    graph = Graph().parse(ONTOLOGY_DIR / "qdkg.ttl", format="turtle")
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in graph
    titles = {t.language for t in graph.objects(ONTOLOGY_IRI, DCTERMS.title)}
    assert titles == {"zh", "en"}
    assert graph.value(ONTOLOGY_IRI, OWL.versionIRI) == URIRef(
        "https://w3id.org/qdkg/ontology/0.1.0"
    )
    assert graph.value(ONTOLOGY_IRI, OWL.versionInfo) == Literal("0.1.0")
    assert graph.value(ONTOLOGY_IRI, DCTERMS.license) == URIRef(
        "https://www.apache.org/licenses/LICENSE-2.0"
    )
    assert graph.value(ONTOLOGY_IRI, DCTERMS.description) is not None


def test_mu_is_declared_once_in_square_metres() -> None:
    graph = Graph().parse(ONTOLOGY_DIR / "qdkg.ttl", format="turtle")
    mu = QID["unit/mu"]
    multiplier = graph.value(mu, URIRef("http://qudt.org/schema/qudt/conversionMultiplier"))
    assert graph.value(mu, QDKG.baseUnit) == QID["unit/square-metre"]
    assert abs(float(multiplier) - 10000 / 15) < 1e-9


@pytest.mark.slow
def test_owl_rl_closure_of_ontology_and_facts_is_consistent(dataset: Dataset) -> None:
    graph = Graph()
    for name in (GRAPH_ONTOLOGY, GRAPH_ARTICLE, GRAPH_EXTERNAL):
        graph += dataset.graph(name)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    nothing = sorted(short(s) for s in graph.subjects(RDF.type, OWL.Nothing) if s != OWL.Nothing)
    errors = sorted(
        str(graph.value(m, OWLRL_ERROR.error))
        for m in graph.subjects(RDF.type, OWLRL_ERROR.ErrorMessage)
    )
    assert not nothing, f"members of owl:Nothing: {nothing}"
    assert not errors, "owlrl reports inconsistencies:\n" + "\n".join(errors)
