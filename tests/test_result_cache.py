"""The query result cache: answers kept per worker process, never past an accepted write."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from conftest import WRITE_TOKENS, start_server
from http_probe import QID, Reply, call, update
from qdkg.result_cache import ResultCache
from qdkg.results import Rendered
from stewardship_samples import insert_data

CHENGYANG = QID + "district/chengyang"
COMMENTS = (f"SELECT ?c WHERE {{ <{CHENGYANG}> <http://www.w3.org/2000/01/rdf-schema#comment> ?c "
            "FILTER(STRSTARTS(STR(?c), 'cached ')) }")


def _answer(body: bytes) -> Rendered:
    return Rendered(body, "text/csv", False)


# --- the cache itself ---------------------------------------------------------------------------


def test_an_answer_is_found_only_at_its_own_journal_position():
    cache = ResultCache(1 << 20)
    cache.put("q", 3, _answer(b"three"))
    found = cache.get("q", 3)
    assert found is not None and found.body == b"three"
    assert cache.get("another query", 3) is None
    assert cache.get("q", 4) is None  # the journal moved on: a change set was accepted
    assert cache.get("q", 3) is None and len(cache) == 0 and cache.size == 0  # and it is gone


def test_an_answer_from_behind_the_workers_position_is_not_kept():
    cache = ResultCache(1 << 20)
    assert cache.get("q", 5) is None
    cache.put("q", 4, _answer(b"old"))
    assert len(cache) == 0
    cache.put("q", 6, _answer(b"newer than the worker has seen"))  # kept for when it catches up
    assert cache.get("q", 5) is None
    found = cache.get("q", 6)
    assert found is not None and found.body == b"newer than the worker has seen"


def test_bounded_by_bytes_least_recently_used_first():
    cache = ResultCache(800)
    for key in range(8):
        cache.put(key, 0, _answer(bytes(100)))
    assert cache.get(0, 0) is not None  # used: now the most recent
    cache.put(8, 0, _answer(bytes(100)))
    assert cache.size <= 800 and len(cache) == 8
    assert cache.get(1, 0) is None  # the least recently used went first
    assert cache.get(0, 0) is not None and cache.get(8, 0) is not None


def test_an_answer_too_large_for_the_cache_is_not_kept_and_zero_turns_it_off():
    cache = ResultCache(800)
    cache.put("big", 0, _answer(bytes(400)))
    assert cache.get("big", 0) is None
    off = ResultCache(0)
    assert not off.enabled
    off.put("q", 0, _answer(b"x"))
    assert len(off) == 0


# --- through the real server --------------------------------------------------------------------


@pytest.fixture(scope="module")
def writer(build_dir, tmp_path_factory):
    """Two workers with writes on: a write accepted by one must reach the other's cache."""
    data = tmp_path_factory.mktemp("cache")
    srv = start_server(build_dir, data, "--data-dir", str(data / "data"), "--workers", "2",
                       env={"QDKG_WRITE_TOKENS": WRITE_TOKENS})
    yield srv
    srv.stop()


def _select(url: str, query: str = COMMENTS) -> tuple[set[str], Reply]:
    reply = call(url + "/sparql?" + urllib.parse.urlencode({"query": query}),
                 headers={"Accept": "application/sparql-results+json"})
    assert reply.status == 200, reply.text
    rows = json.loads(reply.body)["results"]["bindings"]
    return {row["c"]["value"] for row in rows}, reply


def test_an_accepted_write_changes_the_next_answer_in_every_worker(writer):
    expected: set[str] = set()
    hits = 0
    for round_ in range(3):
        # several reads: each worker answers some, and repeats come from its cache
        for _ in range(6):
            comments, reply = _select(writer.url)
            assert comments == expected
            assert reply.headers["x-cache"] in ("hit", "miss")
            hits += reply.headers["x-cache"] == "hit"
        text = f"cached {round_}"
        written = update(writer.url, insert_data(f'<district/chengyang> rdfs:comment "{text}"@en .'))
        assert written.status == 200, written.text
        expected.add(text)
        # the very next reads, whichever worker answers, see the write: never a stale hit
        for _ in range(6):
            comments, _ = _select(writer.url)
            assert comments == expected
    assert hits > 0


def test_errors_and_other_formats_are_separate_entries(writer):
    accept_csv = {"Accept": "text/csv"}
    query = urllib.parse.urlencode({"query": COMMENTS})
    first = call(writer.url + "/sparql?" + query, headers=accept_csv)
    second = call(writer.url + "/sparql?" + query, headers=accept_csv)
    assert first.status == second.status == 200
    assert first.headers["content-type"].startswith("text/csv")
    assert second.body == first.body and second.headers["content-type"] == first.headers[
        "content-type"]
    bad = urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p }"})
    for _ in range(3):
        reply = call(writer.url + "/sparql?" + bad)
        assert reply.status == 400 and "x-cache" not in reply.headers


def test_the_cache_can_be_turned_off(server_factory):
    srv = server_factory("--result-cache-mb", "0")
    for _ in range(4):
        comments, reply = _select(srv.url, "SELECT ?c WHERE { ?s <http://www.w3.org/2000/01/"
                                  f"rdf-schema#label> ?c FILTER(?s = <{CHENGYANG}>) }}")
        assert comments == {"城阳区", "Chengyang District"}
        assert "x-cache" not in reply.headers


def test_answers_that_change_by_themselves_are_not_kept(writer):
    query = urllib.parse.urlencode({"query": "SELECT (NOW() AS ?t) (STRUUID() AS ?u) WHERE {}"})
    answers = set()
    for _ in range(3):
        reply = call(writer.url + "/sparql?" + query,
                     headers={"Accept": "application/sparql-results+json"})
        assert reply.status == 200 and "x-cache" not in reply.headers
        answers.add(reply.body)
    assert len(answers) == 3  # a fresh UUID each time
