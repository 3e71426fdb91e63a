"""`qdkg validate FILE...`: a human summary or a structured report, and exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from rdflib import Graph, Namespace
from rdflib.namespace import RDF, SH

from qdkg.cli import main
from stewardship_samples import QID, road, statement, turtle

QSH = Namespace("https://w3id.org/qdkg/shapes#")


@pytest.fixture()
def env(build_dir, monkeypatch):
    monkeypatch.setenv("QDKG_BUILD_DIR", str(build_dir))
    monkeypatch.delenv("QDKG_DATA_DIR", raising=False)
    return {**os.environ, "QDKG_BUILD_DIR": str(build_dir)}


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qdkg.cli", "validate", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_violations_exit_1_with_a_json_report(tmp_path, env):
    path = write(tmp_path, "bad.ttl", turtle(road("c-bad", labels=False)))
    done = run(path, "--format", "json", env=env)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["conforms"] is False
    found = {(r["focusNode"]["value"], r["sourceShape"]["value"], r["resultSeverity"])
             for resource in report["resources"] for r in resource["results"]}
    assert (QID + "project/c-bad", str(QSH.LabelZhShape), str(SH.Violation)) in found
    assert (QID + "project/c-bad", str(QSH.LabelEnShape), str(SH.Violation)) in found


def test_conforming_files_exit_0(tmp_path, env):
    first = write(tmp_path, "road.ttl", turtle(road("c-good")))
    second = write(tmp_path, "statement.ttl", turtle(statement("c-good", "project/c-good")))
    done = run(first, second, env=env)  # two files, one submission: the statement's subject
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("conforms")


def test_unparseable_file_exits_2_with_line_and_column(tmp_path, env):
    path = write(tmp_path, "broken.ttl", b"@prefix ex: <http://e/> .\nex:a ex:b .\n")
    done = run(path, env=env)
    assert done.returncode == 2
    assert "broken.ttl" in done.stderr and "line 2, column" in done.stderr


def test_unknown_extension_and_missing_file_exit_2(tmp_path, env, capsys):
    assert main(["validate", write(tmp_path, "data.csv", b"a,b\n")]) == 2
    assert ".ttl" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "missing.ttl")]) == 2
    assert "missing.ttl" in capsys.readouterr().err


def test_warnings_only_exit_0_and_are_listed(tmp_path, env, capsys):
    path = write(tmp_path, "warn.ttl", turtle(road("c-warn", evidence=False)))
    assert main(["validate", path]) == 0
    out = capsys.readouterr().out
    assert "[Warning]" in out and "[Violation]" not in out
    assert "qdkg:evidence" in out


def test_turtle_report_and_chinese_summary(tmp_path, env, capsys):
    path = write(tmp_path, "bad.nt", Graph().parse(data=turtle(road("c-zh", labels=False)),
                                                   format="turtle").serialize(format="nt"
                                                                              ).encode())
    assert main(["validate", path, "--format", "turtle"]) == 1
    report = Graph().parse(data=capsys.readouterr().out, format="turtle")
    assert (None, RDF.type, SH.ValidationReport) in report
    shapes = set(report.objects(None, SH.sourceShape))
    assert {QSH.LabelZhShape, QSH.LabelEnShape} <= shapes
    assert main(["validate", path, "--lang", "zh"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("不符合约束") and "修改建议" in out
