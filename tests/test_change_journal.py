"""The change journal: framed, checksummed records; torn tails ignored; replay on start; other
processes catching up; change sets recorded as data; export back to Turtle."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from qdkg.changes import commit, graph_effect
from qdkg.changeset import CS, ChangeSet, change_graph
from qdkg.cli import main
from qdkg.config import Config, parse_tokens
from qdkg.journal import Journal
from qdkg.runtime import open_runtime, refresh
from qdkg.submission import parse
from qdkg.terms import triple_of
from stewardship_samples import ARTICLE_GRAPH, QID, road, turtle

TOKENS = "alice:steward-token-0123456789"
NOTE = URIRef(str(RDFS.comment))
CHENGYANG = URIRef(QID + "district/chengyang")


def runtime_on(build_dir: Path, data_dir: Path):
    return open_runtime(Config(build_dir=build_dir, data_dir=data_dir,
                               write_tokens=parse_tokens(TOKENS)))


def add(runtime, *triples, who="alice"):
    return commit(runtime, who, "post", graph_effect(runtime, ARTICLE_GRAPH, "POST",
                                                     list(triples)))


def note(text: str):
    return (CHENGYANG, NOTE, Literal(text, lang="en"))


def has(runtime, triple, graph: str = ARTICLE_GRAPH) -> bool:
    s, p, o = triple
    return bool(runtime.store.query(f"ASK {{ GRAPH <{graph}> {{ <{s}> <{p}> {o.n3()} }} }}"))


def test_records_round_trip_and_a_torn_tail_is_ignored(tmp_path):
    journal = Journal(tmp_path)
    first = journal.append({"seq": 1, "x": "一"})
    second = journal.append({"seq": 2, "x": "二"})
    assert [e.record for e in journal.read()] == [{"seq": 1, "x": "一"}, {"seq": 2, "x": "二"}]
    assert [e.end for e in journal.read()] == [first, second]
    with open(journal.path, "ab") as log:  # a writer killed half-way through its record
        log.write(b"QDKJ\x00\x00\x01\x00" + b"\x07" * 40)
    assert [e.seq for e in journal.read()] == [1, 2]
    assert [e.seq for e in journal.read(first)] == [2]
    journal.cut_torn_tail(second)
    assert journal.path.stat().st_size == second
    assert journal.append({"seq": 3}) > second
    assert [e.seq for e in journal.read()] == [1, 2, 3]


def test_a_corrupted_record_ends_the_journal_there(tmp_path):
    journal = Journal(tmp_path)
    first = journal.append({"seq": 1})
    journal.append({"seq": 2})
    data = bytearray(journal.path.read_bytes())
    data[-2] ^= 0xFF  # a flipped byte in the last payload: its checksum no longer matches
    journal.path.write_bytes(bytes(data))
    assert [e.end for e in journal.read()] == [first]


def test_accepted_changes_survive_a_restart_and_reach_other_processes(build_dir, tmp_path):
    data_dir = tmp_path / "data"
    writer, reader = runtime_on(build_dir, data_dir), runtime_on(build_dir, data_dir)
    outcome = add(writer, note("journal test one"))
    assert outcome.seq == 1 and has(writer, note("journal test one"))
    assert not has(reader, note("journal test one"))  # not yet: it has not looked
    refresh(reader)
    assert has(reader, note("journal test one")) and reader.seq == 1
    seen = reader.seen
    refresh(reader)  # nothing new: one stat, nothing read
    assert reader.seen == seen and reader.seq == 1
    add(reader, note("journal test two"))
    refresh(writer)
    assert has(writer, note("journal test two")) and writer.seq == 2
    restarted = runtime_on(build_dir, data_dir)
    assert restarted.seq == 2
    assert has(restarted, note("journal test one")) and has(restarted, note("journal test two"))


def test_restart_after_a_torn_write_keeps_every_complete_change(build_dir, tmp_path):
    data_dir = tmp_path / "data"
    runtime = runtime_on(build_dir, data_dir)
    add(runtime, note("before the crash"))
    size = runtime.journal.path.stat().st_size
    with open(runtime.journal.path, "ab") as log:
        log.write(b"QDKJ\x00\x00\x10\x00partial")
        log.flush()
        os.fsync(log.fileno())
    restarted = runtime_on(build_dir, data_dir)
    assert restarted.seq == 1 and has(restarted, note("before the crash"))
    assert restarted.journal.path.stat().st_size == size  # the torn tail was cut at start
    assert add(restarted, note("after the crash")).seq == 2
    assert [e.seq for e in Journal(data_dir).read()] == [1, 2]


def test_the_change_set_is_recorded_as_data(build_dir, tmp_path):
    runtime = runtime_on(build_dir, tmp_path / "data")
    added = parse(turtle(road("j-record")), "text/turtle", QID).triples
    outcome = commit(runtime, "alice", "post", graph_effect(runtime, ARTICLE_GRAPH, "POST", added),
                     reason="a follow-up report")
    graph = change_graph(outcome.seq)
    record = Graph()
    for quad in runtime.store.quads(graph):
        record.add(triple_of(quad))
    change = URIRef(graph)
    assert (change, RDF.type, CS.ChangeSet) in record
    assert record.value(change, CS.creatorName) == Literal("alice")
    assert str(record.value(change, CS.changeReason)) == "a follow-up report"
    statements = set(record.objects(change, CS.addition))
    reified = {(record.value(s, RDF.subject), record.value(s, RDF.predicate),
                record.value(s, RDF.object)) for s in statements}
    accepted = set(outcome.checked.diff.asserted_added)
    assert reified == accepted and accepted <= set(added)
    assert URIRef(QID + "project/j-record") in set(record.objects(change, CS.subjectOfChange))
    journalled = next(e.record for e in runtime.journal.read() if e.seq == outcome.seq)
    assert set(ChangeSet.from_record(journalled).diff.asserted_added) == accepted


def test_export_changes_writes_turtle_with_the_accepted_triples(build_dir, tmp_path, capsys):
    data_dir = tmp_path / "data"
    runtime = runtime_on(build_dir, data_dir)
    added = parse(turtle(road("j-export")), "text/turtle", QID).triples
    road_change = commit(runtime, "alice", "post",
                         graph_effect(runtime, ARTICLE_GRAPH, "POST", added))
    add(runtime, note("exported note"))
    out = tmp_path / "changes.ttl"
    assert main(["export-changes", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    exported = Graph().parse(out, format="turtle")
    accepted = set(road_change.checked.diff.asserted_added)
    assert accepted and accepted <= set(exported)
    assert note("exported note") in exported
    assert "# --- add to graph/common.ttl" in out.read_text()  # where Chengyang is described


def test_export_without_a_journal_exits_2(tmp_path, capsys):
    assert main(["export-changes", "--data-dir", str(tmp_path), "--out",
                 str(tmp_path / "x.ttl")]) == 2
    assert "no change journal" in capsys.readouterr().err


@pytest.mark.parametrize("graph", ["https://w3id.org/qdkg/graph/ontology",
                                   "https://w3id.org/qdkg/graph/inferred"])
def test_only_the_article_graph_is_writable(build_dir, tmp_path, graph):
    from qdkg.changes import WriteError

    runtime = runtime_on(build_dir, tmp_path / "data")
    with pytest.raises(WriteError) as refused:
        graph_effect(runtime, graph, "POST", [note("x")])
    assert refused.value.kind == "read-only"
