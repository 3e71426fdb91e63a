"""The remote store backend against a real Oxigraph server that the tests start on a free port:
the same answers as the embedded store, loading over the Graph Store Protocol, writes over the
Update protocol, `qdkg load` and `qdkg serve --store`, and clear errors when the store is gone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from conftest import free_port
from qdkg.build import DATASET_FILE
from qdkg.examples import examples
from qdkg.remote_store import RemoteStore
from qdkg.store import OxigraphStore, StoreError, StoreTimeout

QG = "https://w3id.org/qdkg/graph/"
CHENGYANG = "https://w3id.org/qdkg/id/district/chengyang"


def oxigraph_binary() -> str:
    found = shutil.which("oxigraph") or str(Path(sys.prefix) / "bin" / "oxigraph")
    assert Path(found).exists(), "the oxigraph server binary (PyPI package 'oxigraph') is missing"
    return found


class OxigraphServer:
    def __init__(self, location: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [oxigraph_binary(), "serve", "--bind", f"127.0.0.1:{self.port}",
             "--location", str(location), "--union-default-graph"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                ask = self.query_url + "?query=ASK%7B%7D"
                with urllib.request.urlopen(ask, timeout=2):  # noqa: S310 - a test server
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the Oxigraph server did not start")

    @property
    def query_url(self) -> str:
        return self.base + "/query"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@pytest.fixture(scope="module")
def loaded_remote(tmp_path_factory, build_dir) -> Iterator[OxigraphServer]:
    """An Oxigraph server holding the build, loaded with `qdkg load`."""
    remote = OxigraphServer(tmp_path_factory.mktemp("oxigraph"))
    yield remote
    remote.stop()


@pytest.fixture()
def empty_remote(tmp_path) -> Iterator[OxigraphServer]:
    remote = OxigraphServer(tmp_path / "oxigraph")
    yield remote
    remote.stop()


@pytest.fixture(scope="module")
def embedded(build_dir) -> OxigraphStore:
    store = OxigraphStore()
    store.load_file(build_dir / DATASET_FILE)
    return store


def run_cli(*args: str, build_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qdkg.cli", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "QDKG_BUILD_DIR": str(build_dir)},
    )


@pytest.fixture(scope="module")
def remote(loaded_remote, build_dir, embedded) -> RemoteStore:
    first = run_cli("load", "--store", loaded_remote.query_url, build_dir=build_dir)
    assert first.returncode == 0, first.stderr
    assert f"loaded {len(embedded)} quads" in first.stdout
    again = run_cli("load", "--store", loaded_remote.query_url, build_dir=build_dir)
    assert again.returncode == 0 and "already holds data" in again.stdout
    return RemoteStore(loaded_remote.query_url, timeout=30)


def rows(result, separators: str = "") -> Counter:  # type: ignore[no-untyped-def]
    """A result as a multiset of rows of terms (order-free), comparable across stores.

    GROUP_CONCAT joins in no defined order: its cells compare as sorted parts (`separators`).
    """
    if isinstance(result, ox.QueryBoolean):
        return Counter([bool(result)])
    if isinstance(result, ox.QueryTriples):
        return Counter(str(t) for t in result)
    names = [v.value for v in result.variables]

    def cell(term: object) -> object:
        if term is None:
            return None
        if separators and isinstance(term, ox.Literal):
            return tuple(sorted(re.split(f"[{re.escape(separators)}]", term.value)))
        return str(term)

    return Counter(tuple(cell(s[n]) for n in names) for s in result)


# --- the Store interface over HTTP ------------------------------------------------------------


def test_load_gives_the_same_graphs_and_size(remote, embedded):
    assert len(remote) == len(embedded) > 1000
    assert remote.named_graphs() == embedded.named_graphs()
    assert sum(1 for _ in remote.quads(QG + "ontology")) == sum(
        1 for _ in embedded.quads(QG + "ontology"))


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.name)
def test_every_example_query_gives_the_same_answer(remote, embedded, example):
    remote_result = remote.query(example.query)
    assert type(remote_result) is type(embedded.query(example.query))
    separators = "".join(re.findall(r'separator\s*=\s*"(.)"', example.query))
    assert rows(remote_result, separators) == rows(embedded.query(example.query), separators)


@pytest.mark.parametrize(
    "query",
    [
        f"ASK {{ <{CHENGYANG}> a <https://w3id.org/qdkg/ontology#District> }}",
        f"DESCRIBE <{CHENGYANG}>",
        "CONSTRUCT { ?s a ?t } WHERE { ?s a ?t FILTER(isIRI(?s)) }",
        f"SELECT (COUNT(*) AS ?n) FROM <{QG}ontology> WHERE {{ ?s ?p ?o }}",  # noqa: S608
        f"SELECT ?g (COUNT(*) AS ?n) FROM NAMED <{QG}shapes> "  # noqa: S608 - SPARQL, not SQL
        "WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    ],
)
def test_every_query_form_and_dataset_clause(remote, embedded, query):
    assert rows(remote.query(query)) == rows(embedded.query(query))


def test_protocol_dataset_parameters(remote, embedded):
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    for kwargs in ({"default_graph": [QG + "ontology"]},
                   {"default_graph": [QG + "ontology", QG + "shapes"]},
                   {"default_graph": [], "named_graphs": [QG + "shapes"]}):
        assert rows(remote.query(query, **kwargs)) == rows(embedded.query(query, **kwargs))


def test_syntax_errors_are_syntax_errors(remote):
    with pytest.raises(SyntaxError, match="1:"):
        remote.query("SELECT ?s WHERE { ?s ?p ")


def test_writes_with_the_update_protocol(empty_remote, build_dir):
    store = RemoteStore(empty_remote.query_url)
    graph = ox.NamedNode("http://example.org/scratch")
    one = ox.Quad(ox.NamedNode("http://example.org/s"), ox.NamedNode("http://example.org/p"),
                  ox.Literal("一"), graph)
    two = ox.Quad(one.subject, one.predicate, ox.Literal("two", language="en"), graph)
    store.replace([], [one])
    assert list(store.quads(graph.value)) == [one]
    store.replace([one], [two])  # one request: DELETE DATA ; INSERT DATA
    assert list(store.quads(graph.value)) == [two]
    store.update(f"DROP GRAPH {graph}")
    assert len(store) == 0
    with pytest.raises(SyntaxError):
        store.update("INSERT DATA { oops }")


def test_load_file_posts_each_graph_and_replace_puts_them(empty_remote, build_dir, embedded):
    store = RemoteStore(empty_remote.query_url)
    path = build_dir / DATASET_FILE
    store.load_file(path)  # the Store interface
    assert len(store) == len(embedded)
    assert store.load_dataset(path, replace=True) == len(embedded)  # PUT: replaced, not doubled
    assert len(store) == len(embedded)
    assert store.named_graphs() == embedded.named_graphs()


def test_unreachable_store_is_a_store_error():
    port = free_port()  # nothing listens there
    with pytest.raises(StoreError, match="could not be reached"):
        RemoteStore(f"http://127.0.0.1:{port}/query").query("ASK {}")
    with pytest.raises(StoreError):
        RemoteStore(f"http://127.0.0.1:{port}/query").update("CLEAR ALL")


def test_a_store_that_does_not_answer_times_out():
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/query"
        with pytest.raises(StoreTimeout, match="did not answer within 1 s"):
            RemoteStore(url, timeout=1).query("ASK {}")


# --- serving from a remote store ----------------------------------------------------------------


def get(url: str, params: dict[str, str] | None = None) -> tuple[int, bytes]:
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - a test server
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def json_rows(body: bytes, separators: str) -> Counter:
    """SPARQL JSON bindings as an order-free multiset (GROUP_CONCAT cells as sorted parts)."""
    def cell(value: dict) -> object:
        if separators and value["type"] == "literal":
            return (tuple(sorted(re.split(f"[{re.escape(separators)}]", value["value"]))),
                    value.get("xml:lang"), value.get("datatype"))
        return json.dumps(value, sort_keys=True)

    bindings = json.loads(body)["results"]["bindings"]
    return Counter(tuple(sorted((k, cell(v)) for k, v in b.items())) for b in bindings)


def assert_same_answers(url: str, reference_url: str) -> None:
    """Every example query gets a 200 and the same rows (in any order) from both servers."""
    for example in examples():
        status, body = get(url + "/sparql", {"query": example.query})
        reference_status, reference_body = get(reference_url + "/sparql", {"query": example.query})
        assert status == reference_status == 200, body
        separators = "".join(re.findall(r'separator\s*=\s*"(.)"', example.query))
        assert json_rows(body, separators) == json_rows(reference_body, separators), example.name


def test_serve_with_a_remote_store(empty_remote, server_factory, server, embedded):
    # the remote store is empty: `qdkg serve --store` loads the build into it first
    srv = server_factory("--store", empty_remote.query_url)
    status, body = get(srv.url + "/health")
    health = json.loads(body)
    assert status == 200 and health["store"] == "remote" and health["quads"] == len(embedded)
    assert_same_answers(srv.url, server.url)
    status, body = get(srv.url + "/sparql", {"query": f"DESCRIBE <{CHENGYANG}>",
                                             "format": "nt"})
    assert status == 200 and CHENGYANG.encode() in body
    status, body = get(srv.url + "/dump.nq")
    assert status == 200 and len(body.splitlines()) == len(embedded)

    # the store goes away: queries get a 502 that names it, /health a 503
    empty_remote.stop()
    status, body = get(srv.url + "/sparql", {"query": "ASK {}"})
    assert status == 502 and empty_remote.base.encode() in body
    status, body = get(srv.url + "/health")
    assert status == 503 and json.loads(body)["status"] == "unavailable"
