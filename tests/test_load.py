"""A bounded load test: concurrent readers (SPARQL, pages) and writers (distinct authorised
inserts) in a second process against a real server with a data directory; then every
acknowledged write must be there exactly once. Latency percentiles and the server's memory
(PSS of its process tree) are printed.

QDKG_LOAD_SECONDS (default 20) sets how long the load runs: minutes for a soak run, e.g.
`QDKG_LOAD_SECONDS=300 pytest tests/test_load.py -s`. The load generator alone:
`python tests/test_load.py URL SECONDS TOKEN`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import WRITE_TOKEN, WRITE_TOKENS, start_server  # noqa: E402
from http_probe import ARTICLE, QID, call, children, insert, pss_kb, tree, update  # noqa: E402

CHENGYANG = QID + "district/chengyang"
COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
READERS, WRITERS = 3, 2
READS = [
    ("sparql", "/sparql?" + urllib.parse.urlencode({"query": (
        "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label "
        "FILTER(LANG(?label) = 'en') } LIMIT 50")})),
    ("sparql", "/sparql?" + urllib.parse.urlencode({"query": (
        f"SELECT (COUNT(?c) AS ?n) WHERE {{ GRAPH <{ARTICLE}> {{ <{CHENGYANG}> <{COMMENT}> ?c }} }}"
    )})),
    ("page", "/doc/district/chengyang.html"),
    ("page", "/doc/district/chengyang.ttl"),
    ("page", "/"),
]


# --- the load generator (runs in its own process) ---------------------------------------------


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {}

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"n": len(ordered), "p50": at(0.50), "p90": at(0.90), "p99": at(0.99),
            "max": round(1000 * ordered[-1], 1)}


def generate(url: str, seconds: float, token: str) -> dict:
    deadline = time.monotonic() + seconds
    latencies: dict[str, list[float]] = {"sparql": [], "page": [], "write": []}
    errors: list[str] = []
    acknowledged: list[dict] = []
    lock = threading.Lock()

    def read(index: int) -> None:
        i = index
        while time.monotonic() < deadline:
            kind, path = READS[i % len(READS)]
            i += 1
            started = time.monotonic()
            try:
                reply = call(url + path, timeout=60)
            except OSError as error:
                errors.append(f"{path}: {error!r}")
                continue
            with lock:
                latencies[kind].append(time.monotonic() - started)
                if reply.status != 200:
                    errors.append(f"{path}: {reply.status} {reply.text[:200]}")

    def write(index: int) -> None:
        i = 0
        while time.monotonic() < deadline:
            text = f"load {index}-{i}"
            i += 1
            started = time.monotonic()
            try:
                reply = update(url, insert(f'<{CHENGYANG}> <{COMMENT}> "{text}"@en .'), token)
            except OSError as error:
                errors.append(f"write {text}: {error!r}")
                continue
            with lock:
                latencies["write"].append(time.monotonic() - started)
                if reply.status == 200:
                    acknowledged.append({"text": text,
                                         "changeSet": json.loads(reply.body)["changeSet"]})
                else:
                    errors.append(f"write {text}: {reply.status} {reply.text[:200]}")

    threads = [threading.Thread(target=read, args=(i,)) for i in range(READERS)]
    threads += [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latency_ms": {kind: percentiles(v) for kind, v in latencies.items()},
            "requests": sum(len(v) for v in latencies.values()), "errors": errors,
            "acknowledged": acknowledged}


# --- the test -----------------------------------------------------------------------------------


@pytest.fixture()
def loaded_server(build_dir, tmp_path):
    srv = start_server(build_dir, tmp_path, "--data-dir", str(tmp_path / "data"),
                       env={"QDKG_WRITE_TOKENS": WRITE_TOKENS})
    yield srv
    srv.stop()


def test_readers_and_writers_under_load(loaded_server, capsys):
    srv = loaded_server
    seconds = float(os.environ.get("QDKG_LOAD_SECONDS", "20"))
    for _, path in READS:  # warm each worker's caches before memory is first measured
        for _ in range(2):
            assert call(srv.url + path).status == 200
    memory_start = pss_kb(tree(srv.process.pid))
    workers = sorted(children(srv.process.pid))
    driver = subprocess.run(
        [sys.executable, __file__, srv.url, str(seconds), WRITE_TOKEN],
        capture_output=True, text=True, timeout=seconds + 300, check=False)
    assert driver.returncode == 0, driver.stderr[-3000:]
    result = json.loads(driver.stdout)
    memory_end = pss_kb(tree(srv.process.pid))

    assert result["errors"] == []
    assert sorted(children(srv.process.pid)) == workers  # no worker died or was replaced
    acknowledged = result["acknowledged"]
    assert acknowledged and result["latency_ms"]["sparql"]["n"] > 0
    assert result["latency_ms"]["page"]["n"] > 0
    sets = [a["changeSet"] for a in acknowledged]
    assert sorted(sets) == list(range(1, len(sets) + 1))  # numbered without gaps or repeats

    query = (f"SELECT ?c (COUNT(*) AS ?n) WHERE {{ GRAPH <{ARTICLE}> {{ <{CHENGYANG}> "
             f"<{COMMENT}> ?c FILTER(STRSTARTS(STR(?c), 'load ')) }} }} GROUP BY ?c")
    rows = json.loads(call(srv.url + "/sparql?" + urllib.parse.urlencode({"query": query})).body)
    present = {r["c"]["value"]: int(r["n"]["value"]) for r in rows["results"]["bindings"]}
    assert present == {a["text"]: 1 for a in acknowledged}  # none lost, none twice, none extra
    graphs = ("SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?g a "
              "<http://purl.org/vocab/changeset/schema#ChangeSet> } }")
    counted = json.loads(call(srv.url + "/sparql?" + urllib.parse.urlencode({"query": graphs})
                              ).body)["results"]["bindings"][0]["n"]["value"]
    assert int(counted) == len(acknowledged)

    with capsys.disabled():
        print(f"\nload: {seconds:g} s, {READERS} readers + {WRITERS} writers, "
              f"{result['requests']} requests, {len(acknowledged)} writes acknowledged, "
              f"0 errors")
        for kind, figures in result["latency_ms"].items():
            print(f"  {kind:6} latency ms: {figures}")
        print(f"  server PSS: {memory_start / 1024:.0f} MB at start, "
              f"{memory_end / 1024:.0f} MB at end")
    # Generous: each worker may cache up to 32 MB of pages and every process replays the
    # accepted changes; a leak per request would show as far more than this.
    assert memory_end < memory_start * 2 + 256 * 1024


if __name__ == "__main__":
    print(json.dumps(generate(sys.argv[1], float(sys.argv[2]), sys.argv[3])))
