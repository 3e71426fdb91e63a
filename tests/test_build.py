"""`qdkg build`: closure in its own graph, validation that names what fails, reuse of unchanged inputs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Dataset, Graph

from qdkg.build import MANIFEST_FILE, TRIG_FILE, build
from qdkg.namespaces import GRAPH_ARTICLE, GRAPH_EXTERNAL, GRAPH_INFERRED, GRAPH_ONTOLOGY, GRAPH_TEXT
from qdkg.paths import ROOT


@pytest.fixture(scope="module")
def dataset(build_dir: Path) -> Dataset:
    ds = Dataset()
    ds.parse(build_dir / TRIG_FILE, format="trig")
    return ds


def test_inferred_graph_is_non_empty_and_holds_only_new_triples(dataset: Dataset):
    inferred = set(dataset.graph(GRAPH_INFERRED))
    asserted = (
        set(dataset.graph(GRAPH_ARTICLE))
        | set(dataset.graph(GRAPH_ONTOLOGY))
        | set(dataset.graph(GRAPH_EXTERNAL))
    )
    assert len(inferred) > 1000
    assert not inferred & asserted


def test_inferred_graph_has_no_axiomatic_noise(dataset: Dataset):
    from rdflib.namespace import OWL, RDF, RDFS

    for s, p, o in dataset.graph(GRAPH_INFERRED):
        assert not (p == OWL.sameAs and s == o), (s, p, o)
        assert not (p == RDF.type and o in (OWL.Thing, RDFS.Resource)), (s, p, o)
        assert str(s).startswith("https://w3id.org/qdkg/"), (s, p, o)


def test_reasoning_fills_the_place_chain_and_the_officials(dataset: Dataset):
    from qdkg.namespaces import QDKG, QID

    inferred = dataset.graph(GRAPH_INFERRED)
    assert (QID["community/hongdao-ningjia"], QDKG.locatedIn, QID["city/qingdao"]) in inferred
    assert (QID["person/wang-qingyuan"], RDF_TYPE, QDKG.Official) in inferred


RDF_TYPE = Graph().namespace_manager.expand_curie("rdf:type")


def test_text_graph_links_every_span_to_its_sentence(dataset: Dataset):
    from qdkg.namespaces import NIF, QDKG

    spans = set(dataset.graph(GRAPH_ARTICLE).subjects(RDF_TYPE, QDKG.TextSpan))
    linked = set(dataset.graph(GRAPH_TEXT).subjects(NIF.sentence, None))
    assert spans and spans <= linked


def test_unchanged_inputs_reuse_the_previous_build(build_dir: Path):
    result = build(build_dir, log=lambda _msg: None)
    assert result.reused
    assert (build_dir / MANIFEST_FILE).exists()


def _copy_sources(target: Path) -> Path:
    for name in ("ontology", "shapes"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("fixtures"))
    shutil.copytree(ROOT / "graph", target / "graph")
    return target


def _run_build(root: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QDKG_ROOT": str(root)}
    return subprocess.run(
        [sys.executable, "-m", "qdkg.cli", "build", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )


def test_build_fails_naming_the_node_and_shape_when_a_violation_is_added(tmp_path: Path):
    root = _copy_sources(tmp_path / "root")
    shutil.copy(ROOT / "shapes/fixtures/invalid-statement-values.ttl", root / "graph" / "zz-bad.ttl")
    result = _run_build(root, tmp_path / "out")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "https://w3id.org/qdkg/id/statement/negative-investment" in result.stderr
    assert "https://w3id.org/qdkg/shapes#StatementValueSignShape" in result.stderr
    assert not (tmp_path / "out" / "dataset.nq").exists()


def test_build_refuses_an_ill_typed_literal_with_a_readable_message(tmp_path: Path):
    root = _copy_sources(tmp_path / "root")
    (root / "graph" / "zz-bad.ttl").write_text(
        '@prefix qdkg: <https://w3id.org/qdkg/ontology#> .\n'
        '@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n'
        '<https://w3id.org/qdkg/id/statement/x> qdkg:value "abc"^^xsd:decimal .\n',
        encoding="utf-8",
    )
    result = _run_build(root, tmp_path / "out")
    assert result.returncode == 1
    assert "do not fit their datatype" in result.stderr
    assert "statement/x" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_reports_the_time_of_each_step(tmp_path: Path):
    root = _copy_sources(tmp_path / "root")
    result = _run_build(root, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for step in ("loaded", "OWL RL closure", "SHACL", "wrote"):
        assert step in output


def _asserted(*extra: Path) -> Graph:
    from qdkg.build import load_sources

    sources = load_sources()
    asserted = Graph()
    for graph in (sources.ontology, sources.article, sources.external):
        asserted += graph
    for path in extra:
        asserted.parse(path, format="turtle")
    return asserted


def test_the_rules_give_the_same_closure_as_owlrl_over_everything():
    from qdkg.build import infer, infer_owlrl

    asserted = _asserted()
    by_rules, by_owlrl = set(infer(asserted)), set(infer_owlrl(asserted))
    assert len(by_rules) > 1000
    assert by_rules == by_owlrl, (sorted(by_rules - by_owlrl)[:5], sorted(by_owlrl - by_rules)[:5])


def test_validation_shared_out_among_processes_gives_the_same_report():
    from rdflib.namespace import SH

    from qdkg.build import infer, load_sources, validate

    data = _asserted(ROOT / "shapes/fixtures/invalid-statement-values.ttl")
    data += infer(data)
    shapes = load_sources().shapes

    def keys(validation) -> set[tuple]:
        report = validation.report
        return {
            tuple(report.value(r, p) for p in (SH.focusNode, SH.resultPath, SH.sourceShape,
                                               SH.sourceConstraintComponent, SH.resultSeverity))
            for r in validation.results()
        }

    alone, shared = validate(data, shapes, workers=1), validate(data, shapes, workers=2)
    assert not alone.conforms and not shared.conforms
    assert alone.violations == shared.violations > 0
    assert keys(alone) == keys(shared)
    assert "statement/negative-investment" in shared.text


def test_the_build_writes_a_store_with_exactly_the_quads_of_the_dataset(build_dir: Path):
    import json

    import pyoxigraph

    from qdkg.build import DATASET_FILE, STORE_DIR

    lines = sum(1 for line in (build_dir / DATASET_FILE).read_text(encoding="utf-8").splitlines()
                if line.strip())
    store = pyoxigraph.Store.read_only(str(build_dir / STORE_DIR))
    assert len(store) == lines
    assert json.loads((build_dir / MANIFEST_FILE).read_text())["counts"]["store"] == lines
    # The store keeps numeric literals in canonical form ("1.0"^^xsd:decimal as "1"), like the
    # in-memory store the service loads the N-Quads into; blank nodes get new labels on parsing.
    canonical = pyoxigraph.Store()
    canonical.load(path=str(build_dir / DATASET_FILE), format=pyoxigraph.RdfFormat.N_QUADS)

    def named(quads) -> set:
        return {q for q in quads if not isinstance(q.subject, pyoxigraph.BlankNode)
                and not isinstance(q.object, pyoxigraph.BlankNode)}

    assert named(store) == named(canonical)
    assert not list(build_dir.glob(".store-*")), "the temporary directory is left behind"


def test_a_reused_build_makes_its_store_again_when_it_is_missing(tmp_path: Path, build_dir: Path):
    import pyoxigraph

    from qdkg.build import STORE_DIR

    out = tmp_path / "copy"
    shutil.copytree(build_dir, out, ignore=shutil.ignore_patterns(STORE_DIR))
    result = build(out, log=lambda _msg: None)
    assert result.reused
    assert len(pyoxigraph.Store.read_only(str(out / STORE_DIR))) == result.counts["store"]


def test_only_spans_of_the_shipped_article_are_linked_to_its_sentences():
    from rdflib import Literal

    from qdkg.namespaces import ARTICLE_TEXT, NIF, QDKG, QID
    from qdkg.sentences import text_structure

    text = "第一句。第二句！\n第三句"
    facts = Graph()
    for span, context, begin in (("span/5-7", ARTICLE_TEXT, 5), ("span/0-2", QID["text/other"], 0)):
        facts.add((QID[span], RDF_TYPE, QDKG.TextSpan))
        facts.add((QID[span], NIF.referenceContext, context))
        facts.add((QID[span], NIF.beginIndex, Literal(begin)))
    graph = text_structure(text, facts)
    assert set(graph.objects(QID["span/5-7"], NIF.sentence)) == {QID["sentence/4-8"]}
    assert set(graph.objects(QID["span/5-7"], QDKG.paragraph)) == {QID["paragraph/0-8"]}
    assert not set(graph.triples((QID["span/0-2"], None, None)))
    assert (QID["sentence/9-12"], QDKG.paragraph, QID["paragraph/9-12"]) in graph


def test_the_shapes_graph_is_what_the_shape_files_say(dataset: Dataset):
    from rdflib.compare import isomorphic

    from qdkg.namespaces import GRAPH_SHAPES

    files = Graph()
    for path in sorted((ROOT / "shapes").glob("*.ttl")):
        files.parse(path, format="turtle")
    assert isomorphic(dataset.graph(GRAPH_SHAPES), files)
