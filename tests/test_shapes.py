"""The SHACL shapes fire exactly as shapes/fixtures/manifest.ttl says, and each is well-formed.

Each manifest entry is validated the way the build validates the article: data graph = ontology +
shapes/fixtures/base.ttl + the entry's file, closed under OWL 2 RL by owlrl (generalized triples
with a literal subject dropped: RDF cannot hold them and the build drops them too), then pySHACL
with inference="none" against all of shapes/*.ttl. Reports are compared as sets of
(focus node, result path, source shape, constraint component, severity), never by message.

The closure of ontology + base is computed once; each entry adds its file to a copy and closes it
again (about 1 s each), on all cores.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import owlrl
import pyshacl
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from qdkg.paths import ONTOLOGY_DIR, SHAPES_DIR

FIXTURES = SHAPES_DIR / "fixtures"
MANIFEST = FIXTURES / "manifest.ttl"
QDKG = Namespace("https://w3id.org/qdkg/ontology#")
QSH = Namespace("https://w3id.org/qdkg/shapes#")
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")
QDKGT = Namespace("https://w3id.org/qdkg/shapes/test#")
OWLRL_ERROR = Namespace("http://www.daml.org/2002/03/agents/agent-ont#")
TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
SEVERITIES = {SH.Violation, SH.Warning, SH.Info}

ResultKey = tuple[Node, Node | None, Node, Node, Node]


@dataclass(frozen=True)
class Case:
    name: str
    data: Path
    expected: frozenset[ResultKey]

    @property
    def conforming(self) -> bool:
        return not self.expected


@dataclass(frozen=True)
class Outcome:
    results: frozenset[ResultKey]
    focus_counts: tuple[tuple[URIRef, int], ...]
    owl_errors: tuple[str, ...]


def _path_of(uri: Node) -> Path:
    return Path(unquote(urlparse(str(uri)).path))


def load_manifest() -> tuple[Path, list[Case]]:
    manifest = Graph().parse(MANIFEST, format="turtle")
    root = next(manifest.subjects(RDF.type, MF.Manifest))
    background = _path_of(manifest.value(root, QDKGT.background))
    cases = []
    for entry in Collection(manifest, manifest.value(root, MF.entries)):
        data = manifest.value(manifest.value(entry, MF.action), SHT.dataGraph)
        report = manifest.value(entry, MF.result)
        expected = frozenset(
            (
                manifest.value(result, SH.focusNode),
                manifest.value(result, SH.resultPath),
                manifest.value(result, SH.sourceShape),
                manifest.value(result, SH.sourceConstraintComponent),
                manifest.value(result, SH.resultSeverity),
            )
            for result in manifest.objects(report, SH.result)
        )
        conforms = manifest.value(report, SH.conforms)
        assert conforms is not None and conforms.toPython() == (not expected), entry
        cases.append(Case(str(entry).rsplit("#", 1)[1], _path_of(data), expected))
    return background, cases


BACKGROUND, CASES = load_manifest()


def close(base: Graph, addition: Path) -> tuple[Graph, tuple[str, ...]]:
    """OWL RL closure of `base` + the Turtle file `addition`, and owlrl's inconsistency reports."""
    # rdflib's context-free store: the same closure, a fifth faster than the default one.
    work = Graph(store="SimpleMemory")
    work += base
    work.parse(addition, format="turtle")
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(work)
    errors = []
    for message in list(work.subjects(RDF.type, OWLRL_ERROR.ErrorMessage)):
        errors.append(str(work.value(message, OWLRL_ERROR.error)))
        work.remove((message, None, None))
    closed = Graph()
    closed += (triple for triple in work if not isinstance(triple[0], Literal))
    return closed, tuple(errors)


@cache
def shapes_graph() -> Graph:
    graph = Graph()
    for path in sorted(SHAPES_DIR.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@cache
def ontology() -> Graph:
    graph = Graph()
    for path in sorted(ONTOLOGY_DIR.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@cache
def closed_background() -> Graph:
    closed, errors = close(ontology(), BACKGROUND)
    assert not errors, errors
    return closed


def top_level_shapes(shapes: Graph) -> set[Node]:
    typed = set(shapes.subjects(RDF.type, SH.NodeShape)) | set(
        shapes.subjects(RDF.type, SH.PropertyShape)
    )
    targeted = {s for target in TARGETS for s in shapes.subjects(target, None)}
    return typed | targeted


def focus_nodes(shapes: Graph, data: Graph, shape: Node) -> set[Node]:
    nodes: set[Node] = set(shapes.objects(shape, SH.targetNode))
    for cls in shapes.objects(shape, SH.targetClass):
        nodes.update(data.subjects(RDF.type, cls))
    for prop in shapes.objects(shape, SH.targetSubjectsOf):
        nodes.update(data.subjects(prop, None))
    for prop in shapes.objects(shape, SH.targetObjectsOf):
        nodes.update(data.objects(None, prop))
    return nodes


def result_keys(report: Graph) -> frozenset[ResultKey]:
    return frozenset(
        (
            report.value(result, SH.focusNode),
            report.value(result, SH.resultPath),
            report.value(result, SH.sourceShape),
            report.value(result, SH.sourceConstraintComponent),
            report.value(result, SH.resultSeverity),
        )
        for result in report.subjects(RDF.type, SH.ValidationResult)
    )


def evaluate(case: Case) -> Outcome:
    data, errors = close(closed_background(), case.data)
    shapes = shapes_graph()
    _, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none")
    counts = tuple(
        (shape, len(focus_nodes(shapes, data, shape))) for shape in sorted(top_level_shapes(shapes))
    )
    return Outcome(result_keys(report), counts, errors)


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    # Built in this process before forking, so the workers inherit them instead of redoing them.
    closed_background()
    shapes_graph()
    workers = min(len(CASES), os.cpu_count() or 1)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return dict(zip((case.name for case in CASES), pool.map(evaluate, CASES), strict=True))


def short(term: Node | None) -> str:
    if term is None:
        return "-"
    text = str(term)
    for prefix, iri in (
        ("qid:", "https://w3id.org/qdkg/id/"),
        ("qsh:", str(QSH)),
        ("qdkg:", str(QDKG)),
        ("sh:", str(SH)),
        ("rdfs:", str(RDFS)),
    ):
        if text.startswith(iri):
            return prefix + text[len(iri) :]
    return text


def describe(keys: set[ResultKey]) -> str:
    return (
        "\n".join("  (" + ", ".join(short(t) for t in key) + ")" for key in sorted(keys, key=str))
        or "  none"
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fixture_report_matches_manifest(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.name]
    assert not outcome.owl_errors, (
        f"{case.data.name} is inconsistent with the ontology: {outcome.owl_errors}"
    )
    missing = case.expected - outcome.results
    unexpected = outcome.results - case.expected
    assert not missing and not unexpected, (
        f"{case.data.name}\nexpected but not reported:\n{describe(missing)}\n"
        f"reported but not expected:\n{describe(unexpected)}"
    )


def test_every_shape_has_a_conforming_and_a_non_conforming_fixture(
    outcomes: dict[str, Outcome],
) -> None:
    shapes = top_level_shapes(shapes_graph())
    exercised = {
        shape
        for case in CASES
        if case.conforming
        for shape, count in outcomes[case.name].focus_counts
        if count > 0
    }
    fired = {key[2] for case in CASES for key in case.expected}
    assert not shapes - exercised, (
        f"no conforming fixture gives these shapes a focus node: {shapes - exercised}"
    )
    assert not shapes - fired, f"no non-conforming fixture expects a result from: {shapes - fired}"
    assert not fired - shapes, (
        f"the manifest expects results from shapes that do not exist: {fired - shapes}"
    )


def test_shapes_are_named_labelled_and_have_messages_and_severity() -> None:
    shapes = shapes_graph()
    problems = []
    for shape in sorted(top_level_shapes(shapes)):
        if not isinstance(shape, URIRef) or not str(shape).startswith(str(QSH)):
            problems.append(f"{shape}: a top-level shape must be an IRI under {QSH}")
            continue
        if not ({SH.NodeShape, SH.PropertyShape} & set(shapes.objects(shape, RDF.type))):
            problems.append(f"{short(shape)}: not typed sh:NodeShape or sh:PropertyShape")
        for prop in (RDFS.label, SH.message):
            languages = sorted(
                o.language or "" for o in shapes.objects(shape, prop) if isinstance(o, Literal)
            )
            if languages != ["en", "zh"]:
                problems.append(
                    f"{short(shape)}: {short(prop)} languages {languages}, want one en and one zh"
                )
        severities = list(shapes.objects(shape, SH.severity))
        if len(severities) != 1 or severities[0] not in SEVERITIES:
            problems.append(
                f"{short(shape)}: sh:severity {severities}, want exactly one of {SEVERITIES}"
            )
    assert not problems, "\n".join(problems)


def test_sparql_constraints_carry_their_own_messages() -> None:
    shapes = shapes_graph()
    for shape, constraint in shapes.subject_objects(SH.sparql):
        languages = sorted(o.language or "" for o in shapes.objects(constraint, SH.message))
        assert languages == ["en", "zh"], f"{short(shape)}: sh:sparql messages {languages}"


def shacl_terms_outside_vocabulary(graph: Graph) -> set[URIRef]:
    used = {
        t
        for triple in graph
        for t in triple
        if isinstance(t, URIRef) and str(t).startswith(str(SH))
    }
    return {t for t in used if t not in SH}


def test_shapes_use_only_terms_shacl_defines() -> None:
    unknown = shacl_terms_outside_vocabulary(shapes_graph())
    assert not unknown, f"not SHACL terms (typos are silently ignored by validators): {unknown}"


def test_the_shacl_term_check_catches_a_typo() -> None:
    graph = Graph()
    graph += shapes_graph()
    misspelt = URIRef(str(SH) + "shape")  # the sh:shape of the counter-example in STYLE.md
    graph.add((QSH.StatementMeasureShape, misspelt, QSH.StatementUnitShape))
    assert shacl_terms_outside_vocabulary(graph) == {misspelt}


def test_unit_list_is_the_units_the_ontology_declares() -> None:
    shapes = shapes_graph()
    listed = set(Collection(shapes, shapes.value(QSH.StatementUnitShape, SH["in"])))
    declared = set(ontology().subjects(RDF.type, QDKG.Unit))
    assert listed == declared
