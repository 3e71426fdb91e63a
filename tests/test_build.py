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
