"""The benchmark's data generator (bench/generate.py) makes data the shapes accept, and the
benchmark harness (bench/run.py --smoke) runs end to end against real servers.

The generator is run at a tiny size (one district) over the shared vocabularies only
(graph/common.ttl), so the closure and SHACL validation take seconds; the benchmark itself is
a script, not a test.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import RDF, RDFS

from qdkg.build import infer, load_sources, validate
from qdkg.namespaces import NIF, QDKG, QID

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"


def _generate_module():
    spec = importlib.util.spec_from_file_location("bench_generate", BENCH / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("generated")
    counts = _generate_module().generate(root, 1500, seed=7, facts=["common.ttl"],
                                         log=lambda _msg: None)
    return root, counts


@pytest.fixture(scope="module")
def facts(generated: tuple[Path, dict]) -> Graph:
    root, _ = generated
    graph = Graph()
    for path in sorted((root / "graph").glob("gen-*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def test_the_layout_is_a_qdkg_root(generated: tuple[Path, dict]) -> None:
    root, counts = generated
    for name in ("ontology", "shapes"):
        assert sorted(p.name for p in (root / name).glob("*.ttl")) == sorted(
            p.name for p in (REPO / name).glob("*.ttl"))
    assert (root / "graph" / "source" / "article.txt").read_bytes() == (
        REPO / "graph" / "source" / "article.txt").read_bytes()
    assert (root / "graph" / "common.ttl").exists()
    assert not (root / "graph" / "xihaian.ttl").exists()
    assert counts["cities"] == 1 and counts["districts"] >= 1
    assert json.loads((root / "generated.json").read_text())["seed"] == 7


def test_the_output_parses_and_has_the_size_asked_for(
        generated: tuple[Path, dict], facts: Graph) -> None:
    _, counts = generated
    assert len(facts) == counts["triples"]
    assert 1500 <= counts["triples"] < 1500 + 4000  # stops within one district of the target


def test_it_is_deterministic_for_a_seed(tmp_path: Path, generated: tuple[Path, dict]) -> None:
    root, _ = generated
    module = _generate_module()
    module.generate(tmp_path / "same", 1500, seed=7, facts=["common.ttl"], log=lambda _m: None)
    module.generate(tmp_path / "other", 1500, seed=8, facts=["common.ttl"], log=lambda _m: None)
    names = sorted(p.name for p in (root / "graph").glob("gen-*.ttl"))
    assert names == sorted(p.name for p in (tmp_path / "same" / "graph").glob("gen-*.ttl"))
    for name in names:
        assert (root / "graph" / name).read_bytes() == (
            tmp_path / "same" / "graph" / name).read_bytes()
    other = b"".join(p.read_bytes() for p in sorted((tmp_path / "other" / "graph").glob("gen-*")))
    assert other != b"".join((root / "graph" / n).read_bytes() for n in names)


def test_every_entity_has_one_zh_and_one_en_label(facts: Graph) -> None:
    typed = {s for s, o in facts.subject_objects(RDF.type)
             if str(o).startswith(str(QDKG)) and o != QDKG.TextSpan}
    assert len(typed) > 100
    for node in typed:
        languages = sorted(label.language or "" for label in facts.objects(node, RDFS.label))
        assert languages == ["en", "zh"], f"{node}: labels in {languages}"


def test_spans_quote_their_text_at_their_offsets(facts: Graph) -> None:
    texts = {text: str(facts.value(text, NIF.isString))
             for text in facts.subjects(RDF.type, QDKG.ArticleText)}
    assert len(texts) == 1
    spans = list(facts.subjects(RDF.type, QDKG.TextSpan))
    assert len(spans) > 50
    for span in spans:
        begin, end = int(facts.value(span, NIF.beginIndex)), int(facts.value(span, NIF.endIndex))
        assert span == QID[f"span/{begin}-{end}"]
        text = texts[facts.value(span, NIF.referenceContext)]
        assert str(facts.value(span, NIF.anchorOf)) == text[begin:end]


def test_statements_cover_the_model(facts: Graph) -> None:
    statements = list(facts.subjects(RDF.type, QDKG.QuantitativeStatement))
    assert len(statements) > 30
    for statement in statements:
        assert facts.value(statement, QDKG.evidence) is not None
        assert isinstance(facts.value(statement, QDKG.value), Literal)
    used = {str(facts.value(s, p)).rsplit("/", 1)[1] for s in statements
            for p in (QDKG.status, QDKG.unit)}
    assert {"achieved", "planned", "growth", "rate", "rank", "cny", "mu", "percent",
            "number"} <= used
    assert any(facts.value(s, QDKG.qualifier) for s in statements)
    assert any(facts.value(s, QDKG.rankWithin) for s in statements)
    kinds = {o for o in facts.objects(None, RDF.type)}
    for cls in ("City", "Town", "Community", "Zone", "ProjectGroup", "Person", "Post",
                "Government", "Company", "ArticleSection", "Task", "Photo"):
        assert QDKG[cls] in kinds, cls
    ontology = _ontology()
    assert len({k for k in kinds if (k, RDFS.subClassOf, QDKG.Project) in ontology}) >= 4


def _ontology() -> Graph:
    graph = Graph()
    for path in (REPO / "ontology").glob("*.ttl"):
        graph.parse(path, format="turtle")
    return graph


def test_the_data_conforms_to_the_shapes_after_the_closure(generated: tuple[Path, dict]) -> None:
    root, _ = generated
    sources = load_sources(root)
    asserted = sources.ontology + sources.article + sources.external
    inferred = infer(asserted)
    validation = validate(asserted + inferred, sources.shapes)
    assert validation.conforms, validation.text[:3000]


def test_the_benchmark_runs_end_to_end(build_dir: Path, tmp_path: Path) -> None:
    """`bench/run.py --smoke`: real servers (qdkg serve, Oxigraph, qdkg serve --store, and one
    with writes on), the mix, dereferencing, validation and an accepted write, about a second
    each."""
    out = tmp_path / "smoke.json"
    result = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--smoke", "--build-dir", str(build_dir),
         "--work", str(tmp_path / "work"), "--out", str(out)],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    article = report["sizes"]["article"]
    assert set(article["servers"]) == {"qdkg", "oxigraph", "qdkg-remote", "qdkg-writes"}
    for name, stats in article["mix"].items():
        for c, run in stats.items():
            assert run["requests"] > 0 and run["failed"] == 0, (name, c, run)
    for name, probe in article["lookups_under_load"].items():
        assert probe["requests"] > 0 and probe["failed"] == 0, name
    for template, entry in article["queries"].items():
        ours, theirs = entry["servers"]["qdkg"], entry["servers"]["oxigraph"]
        assert ours["failed"] == 0 and theirs["failed"] == 0, (template, ours, theirs)
        if entry["kind"] != "DESCRIBE":
            assert ours["rows_first"] == theirs["rows_first"], template
    for case, stats in article["dereferencing"].items():
        assert stats["requests"] > 0 and stats["failed"] == 0, case
    assert article["validation"]["100"]["failures"] == []
    assert article["writes"]["changes"] == 1 and article["writes"]["failures"] == []
    assert "mix c=4: requests/s" in result.stdout
