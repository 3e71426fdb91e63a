"""The query executor process: queries side by side on its threads, a runaway killed without
losing the others, a crash taking only its own query. Real forked processes over the real store."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from http_probe import cpu_ticks
from qdkg.executor import Job, ProcessExecutor, QueryCrashed, QueryTimeout
from qdkg.runtime import Runtime

JSON = "application/sparql-results+json"
LABELS = ("SELECT ?label WHERE { <https://w3id.org/qdkg/id/district/chengyang> "
          "<http://www.w3.org/2000/01/rdf-schema#label> ?label }")
RUNAWAY = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i "
           "FILTER(CONTAINS(CONCAT(STR(?c), STR(?f), STR(?i)), 'no such text')) }")
# a few seconds of work, bounded: the join of every triple with every label
MEDIUM = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . "
          "?d <http://www.w3.org/2000/01/rdf-schema#label> ?f FILTER(?c != ?f) }")
DEEP = "SELECT * WHERE " + "{" * 5000 + " ?s ?p ?o " + "}" * 5000


@pytest.fixture(scope="module")
def medium_count(app) -> int:
    """MEDIUM's answer, evaluated here in the test process."""
    solutions = app.extensions["qdkg"].store.query(MEDIUM)
    return int(next(iter(solutions))["n"].value)


@pytest.fixture()
def executor(app):
    base = app.extensions["qdkg"]
    runner = ProcessExecutor(Runtime(base.config, base.store), threads=4)
    runner.start()
    yield runner
    runner.close()  # end the executor this test started, and its zygote


def _count(executor: ProcessExecutor, query: str, timeout: float = 120) -> int:
    answer = executor.run(Job(query, None, None, JSON, 10), timeout)
    return int(json.loads(answer.rendered.body)["results"]["bindings"][0]["n"]["value"])


def _labels(executor: ProcessExecutor) -> set[str]:
    answer = executor.run(Job(LABELS, None, None, JSON, 10), 30)
    return {row["label"]["value"] for row in json.loads(answer.rendered.body)["results"]["bindings"]}


def _in_background(function, *args) -> tuple[threading.Thread, dict]:  # type: ignore[no-untyped-def]
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = function(*args)
        except Exception as error:  # noqa: BLE001 - the test looks at it
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _wait_for_cpu(pid: int, before: int, thread: threading.Thread) -> None:
    while thread.is_alive() and cpu_ticks(pid) - before < 10:
        time.sleep(0.05)
    assert thread.is_alive(), "the long query finished before the test could start"


def test_a_lookup_is_answered_while_a_heavy_query_runs_in_the_same_executor(executor):
    pid = executor.pid
    before = cpu_ticks(pid)
    thread, outcome = _in_background(_count, executor, RUNAWAY, 3)
    _wait_for_cpu(pid, before, thread)
    assert _labels(executor) == {"城阳区", "Chengyang District"}
    assert thread.is_alive(), "the heavy query was not still running"
    thread.join(30)
    assert isinstance(outcome.get("error"), QueryTimeout)
    assert not os.path.exists(f"/proc/{pid}/stat") or cpu_ticks(pid) == 0  # killed and reaped
    assert executor.pid not in (0, pid)  # a fresh executor, ready
    assert _labels(executor) == {"城阳区", "Chengyang District"}


def test_a_runaway_is_killed_and_the_queries_beside_it_still_get_their_answer(executor,
                                                                             medium_count):
    pid = executor.pid
    before = cpu_ticks(pid)
    medium, medium_outcome = _in_background(_count, executor, MEDIUM)
    _wait_for_cpu(pid, before, medium)
    runaway, runaway_outcome = _in_background(_count, executor, RUNAWAY, 1)
    runaway.join(30)
    medium.join(120)
    assert isinstance(runaway_outcome.get("error"), QueryTimeout)
    assert medium_outcome == {"value": medium_count}  # run again in the fresh executor
    assert executor.pid not in (0, pid)


def test_a_crash_fails_only_the_query_that_caused_it(executor, medium_count):
    pid = executor.pid
    before = cpu_ticks(pid)
    medium, medium_outcome = _in_background(_count, executor, MEDIUM)
    _wait_for_cpu(pid, before, medium)
    with pytest.raises(QueryCrashed):
        executor.run(Job(DEEP, None, None, JSON, 10), 60)
    medium.join(120)
    assert medium_outcome == {"value": medium_count}
    assert _labels(executor) == {"城阳区", "Chengyang District"}
    with pytest.raises(QueryCrashed):  # alone in flight: named at once
        executor.run(Job(DEEP, None, None, JSON, 10), 60)
    assert _labels(executor) == {"城阳区", "Chengyang District"}


def test_queries_waiting_for_a_core_are_not_stopped_for_it(app, medium_count):
    """The time limit counts a query's own CPU time: more queries than cores, each needing half
    the limit, all run at once. The last of them cannot finish before (queries x half the limit /
    cores) of elapsed time, past the limit, yet none is stopped."""
    base = app.extensions["qdkg"]
    started = time.thread_time()
    base.store.query(MEDIUM).__iter__().__next__()
    needed = time.thread_time() - started
    cores = os.cpu_count() or 1
    count = 2 * cores + 1
    limit = 2 * needed
    # the backstop is far away: this test is about the CPU budget, not about elapsed time
    runner = ProcessExecutor(Runtime(base.config, base.store), threads=count, wall_factor=100)
    runner.start()
    try:
        pid = runner.pid
        runs = [_in_background(_count, runner, MEDIUM, limit) for _ in range(count)]
        for thread, _ in runs:
            thread.join(600)
        assert [outcome for _, outcome in runs] == [{"value": medium_count}] * count
        assert runner.pid == pid  # never replaced: no query was stopped
    finally:
        runner.close()


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _alive(pid: int) -> bool:
    try:
        return not _status(pid)["State"].startswith("Z")
    except OSError:
        return False


def test_executors_are_forked_from_a_process_without_threads(app):
    """The zygote forks every executor: a process with one thread, so no executor can inherit a
    lock that another thread held when it was forked. It dies with the process that started it
    (here: is killed), and its executor with it; the next query gets a fresh executor."""
    base = app.extensions["qdkg"]
    threading.Thread(target=time.sleep, args=(2,)).start()  # this process is threaded
    runner = ProcessExecutor(Runtime(base.config, base.store), threads=2)
    runner.start()
    try:
        pid = runner.pid
        zygote = int(_status(pid)["PPid"])
        assert zygote != os.getpid()
        assert int(_status(zygote)["PPid"]) == os.getpid()
        assert _status(zygote)["Threads"] == "1"
        assert _labels(runner) == {"城阳区", "Chengyang District"}
        assert int(_status(runner.pid)["PPid"]) == zygote  # replaced executors too
        os.kill(zygote, 9)
        os.waitpid(zygote, 0)
        deadline = time.monotonic() + 30  # the death signal is sent at once; reaping may lag
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid)
        assert _labels(runner) == {"城阳区", "Chengyang District"}
        assert runner.pid not in (0, pid)
    finally:
        runner.close()
