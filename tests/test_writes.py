"""Writes against a real server process: SPARQL Update at /update, the Graph Store Protocol at
/store, change sets as data, revert, dry runs, tokens, concurrency, and a killed process."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import RDFS
from SPARQLWrapper import JSON, SPARQLWrapper

from conftest import WRITE_TOKEN, WRITE_TOKENS, start_server
from qdkg.config import parse_tokens
from stewardship_samples import ARTICLE_GRAPH, QID, insert_data, road, turtle

BOB_TOKEN = {name: token for token, name in parse_tokens(WRITE_TOKENS).items()}["bob"]
CS = "http://purl.org/vocab/changeset/schema#"
CHANGE = "https://w3id.org/qdkg/graph/change/"
CHENGYANG = QID + "district/chengyang"


@pytest.fixture(scope="module")
def writer(build_dir, tmp_path_factory):
    """A real server with writes on and a data directory, shared by this module's tests."""
    data = tmp_path_factory.mktemp("writes")
    srv = start_server(build_dir, data, "--data-dir", str(data / "data"), "--workers", "2",
                       env={"QDKG_WRITE_TOKENS": WRITE_TOKENS})
    yield srv
    srv.stop()


def call(url: str, method: str = "GET", data: bytes | str | None = None,
         token: str | None = WRITE_TOKEN, **headers: str) -> tuple[int, dict, bytes]:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    headers = {k.replace("_", "-"): v for k, v in headers.items()}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=120) as response:  # noqa: S310 (http, ours)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def update(srv, sparql: str, query: str = "", token: str | None = WRITE_TOKEN, **headers: str):
    headers.setdefault("Accept", "application/json")
    return call(f"{srv.url}/update{query}", "POST", sparql, token,
                Content_Type="application/sparql-update", **headers)


def post_graph(srv, data: bytes, graph: str = ARTICLE_GRAPH, method: str = "POST",
               token: str | None = WRITE_TOKEN, extra: str = ""):
    return call(f"{srv.url}/store?graph={urllib.parse.quote(graph)}{extra}", method, data, token,
                Content_Type="text/turtle", Accept="application/json")


def dump(srv) -> list[str]:
    status, _, body = call(f"{srv.url}/store", token=None, Accept="application/n-quads")
    assert status == 200
    return sorted(body.decode("utf-8").splitlines())


def ask(srv, where: str) -> bool:
    sparql = SPARQLWrapper(f"{srv.url}/sparql")
    sparql.setQuery(f"PREFIX cs: <{CS}>\nASK {{ {where} }}")
    sparql.setReturnFormat(JSON)
    return bool(sparql.queryAndConvert()["boolean"])  # type: ignore[index]


def select(srv, query: str) -> list[dict]:
    sparql = SPARQLWrapper(f"{srv.url}/sparql")
    sparql.setQuery(f"PREFIX cs: <{CS}>\nPREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>"
                    f"\nPREFIX prov: <http://www.w3.org/ns/prov#>\n{query}")
    sparql.setReturnFormat(JSON)
    return sparql.queryAndConvert()["results"]["bindings"]  # type: ignore[index]


def results(body: dict) -> list[dict]:
    return [r for resource in body["report"]["resources"] for r in resource["results"]]


def in_article(subject: str, predicate: str, obj: str) -> str:
    return f"GRAPH <{ARTICLE_GRAPH}> {{ <{subject}> <{predicate}> {obj} }}"


# --- who may write -----------------------------------------------------------------------------


def test_writes_are_off_without_tokens(server):
    status, _, body = update(server, insert_data('<district/chengyang> rdfs:comment "x"@en .'))
    assert status == 403 and b"writes are disabled" in body
    status, _, _ = post_graph(server, turtle(road("w-off")), method="PUT")
    assert status == 403


def test_missing_token_is_401_and_wrong_token_403(writer):
    data = insert_data('<district/chengyang> rdfs:comment "token test"@en .')
    status, headers, _ = update(writer, data, token=None)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    status, _, _ = update(writer, data, token=WRITE_TOKEN[::-1])
    assert status == 403
    status, _, _ = call(f"{writer.url}/update", "POST", data, None,
                        Authorization=f"Basic {WRITE_TOKEN}",
                        Content_Type="application/sparql-update")
    assert status == 401
    assert not ask(writer, in_article(CHENGYANG, str(RDFS.comment), '"token test"@en'))


# --- accepted, rejected, dry run ---------------------------------------------------------------


def test_accepted_write_is_visible_to_queries_and_dereferencing(writer):
    status, _, body = update(writer, insert_data(road("w-visible")))
    report = json.loads(body)
    assert status == 200 and report["status"] == "committed" and report["changeSet"] >= 1
    iri = QID + "project/w-visible"
    assert ask(writer, in_article(iri, str(RDFS.label), '"Test road w-visible"@en'))
    assert ask(writer, f"GRAPH <https://w3id.org/qdkg/graph/inferred> {{ <{iri}> "
                       "<https://w3id.org/qdkg/ontology#locatedIn> "
                       f"<{QID}city/qingdao> }}")
    status, _, page = call(f"{writer.url}/id/project/w-visible", token=None, Accept="text/turtle")
    assert status == 200
    described = Graph().parse(data=page, format="turtle")
    assert (URIRef(iri), RDFS.label, Literal("Test road w-visible", lang="en")) in described


def test_rejected_write_leaves_the_store_identical(writer):
    before = dump(writer)
    status, _, body = update(writer, insert_data(road("w-rejected", labels=False)))
    report = json.loads(body)
    assert status == 422 and report["status"] == "rejected" and report["changeSet"] is None
    found = {(r["focusNode"]["value"], r["sourceShape"]["value"].rsplit("#", 1)[1],
              r["sourceConstraintComponent"].rsplit("#", 1)[1]) for r in results(report)}
    assert (QID + "project/w-rejected", "LabelZhShape",
            "QualifiedMinCountConstraintComponent") in found
    status, _, _ = post_graph(writer, turtle(road("w-rejected-2", labels=False)), method="PUT")
    assert status == 422
    assert dump(writer) == before


def test_dry_run_reports_the_exact_diff_and_changes_nothing(writer):
    before = dump(writer)
    town = '''<town/w-dry> a qdkg:Town ; rdfs:label "试运行镇"@zh , "Dry-run town"@en ;
        qdkg:locatedIn <district/chengyang> .'''
    status, _, body = update(writer, insert_data(town), query="?dry-run=true")
    report = json.loads(body)
    assert status == 200 and report["status"] == "dry-run" and report["changeSet"] is None
    iri = f"<{QID}town/w-dry>"
    added = set(report["diff"]["asserted"]["added"])
    assert f"{iri} <https://w3id.org/qdkg/ontology#locatedIn> <{CHENGYANG}> ." in added
    inferred = set(report["diff"]["inferred"]["added"])
    assert f"{iri} <https://w3id.org/qdkg/ontology#locatedIn> <{QID}city/qingdao> ." in inferred
    assert (f"<{QID}city/qingdao> <https://w3id.org/qdkg/ontology#contains> {iri} ." in inferred)
    assert report["diff"]["asserted"]["removed"] == report["diff"]["inferred"]["removed"] == []
    assert dump(writer) == before
    status, _, body = update(writer, insert_data(road("w-dry-bad", labels=False)),
                             query="?dry-run=true")
    assert status == 422 and json.loads(body)["dryRun"] is True
    assert dump(writer) == before


# --- protocol details --------------------------------------------------------------------------


def test_graph_store_protocol(writer):
    status, _, body = post_graph(writer, turtle(road("w-gsp")))
    assert status == 200 and json.loads(body)["status"] == "committed"
    status, headers, body = call(f"{writer.url}/store?graph={urllib.parse.quote(ARTICLE_GRAPH)}",
                                 token=None, Accept="text/turtle")
    article = Graph().parse(data=body, format="turtle")
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    assert (URIRef(QID + "project/w-gsp"), RDFS.label, Literal("Test road w-gsp", lang="en")) in \
        article
    # PUT the graph back with one more triple: one asserted triple added, none removed
    extra = (URIRef(CHENGYANG), RDFS.comment, Literal("added by PUT", lang="en"))
    article.add(extra)
    status, _, body = call(f"{writer.url}/store?graph={urllib.parse.quote(ARTICLE_GRAPH)}", "PUT",
                           article.serialize(format="nt", encoding="utf-8"),
                           Content_Type="application/n-triples", Accept="application/json")
    counts = json.loads(body)["counts"]
    assert status == 200 and counts["assertedAdded"] == 1 and counts["assertedRemoved"] == 0
    status, _, body = call(f"{writer.url}/store?default", token=None,
                           Accept="application/n-triples")
    union = Graph().parse(data=body, format="nt")
    assert status == 200 and extra in union
    status, headers, body = call(f"{writer.url}/store?graph={urllib.parse.quote(ARTICLE_GRAPH)}",
                                 "HEAD", token=None)
    assert status == 200 and body == b""


@pytest.mark.parametrize("method, target, expected", [
    ("PUT", "?graph=https%3A%2F%2Fw3id.org%2Fqdkg%2Fgraph%2Fontology", 403),
    ("POST", "?graph=https%3A%2F%2Fw3id.org%2Fqdkg%2Fgraph%2Finferred", 403),
    ("DELETE", "?graph=https%3A%2F%2Fw3id.org%2Fqdkg%2Fgraph%2Fshapes", 403),
    ("DELETE", "?default", 403),
    ("GET", "?graph=https%3A%2F%2Fw3id.org%2Fqdkg%2Fgraph%2Fnothing", 404),
    ("GET", "?graph=x&default", 400),
])
def test_graph_store_refusals(writer, method, target, expected):
    data = turtle(road("w-refused")) if method in ("PUT", "POST") else None
    status, _, body = call(f"{writer.url}/store{target}", method, data,
                           Content_Type="text/turtle", Accept="application/json")
    assert status == expected
    assert json.loads(body)["error"]


@pytest.mark.parametrize("sparql, expected, words", [
    ('INSERT DATA { <https://w3id.org/qdkg/id/district/chengyang> '
     '<http://www.w3.org/2000/01/rdf-schema#comment> "x" }', 400, "default graph"),
    ("INSERT DATA { GRAPH <https://w3id.org/qdkg/graph/ontology> { <urn:a> <urn:b> <urn:c> } }",
     403, "read-only"),
    ("LOAD <http://127.0.0.1:9/data.ttl> INTO GRAPH <https://w3id.org/qdkg/graph/article>", 400,
     "LOAD"),
    ("INSERT { GRAPH <https://w3id.org/qdkg/graph/article> { ?s ?p ?o } } WHERE { SERVICE "
     "<http://127.0.0.1:9/sparql> { ?s ?p ?o } }", 400, "SERVICE"),
    ("INSERT DATA { GRAPH <https://w3id.org/qdkg/graph/article> { <urn:a> <urn:b> }", 400,
     "syntax"),
    ("DROP ALL", 403, "read-only"),
])
def test_update_refusals(writer, sparql, expected, words):
    before = dump(writer)
    status, _, body = update(writer, sparql)
    assert status == expected and words in json.loads(body)["error"]
    assert dump(writer) == before


def test_update_needs_a_known_media_type(writer):
    status, _, _ = call(f"{writer.url}/update", "POST", "DROP ALL", Content_Type="text/plain")
    assert status == 415
    form = urllib.parse.urlencode({"update": insert_data(
        '<district/chengyang> rdfs:comment "sent as a form"@en .')})
    status, _, body = call(f"{writer.url}/update", "POST", form, Accept="application/json",
                           Content_Type="application/x-www-form-urlencoded")
    assert status == 200 and json.loads(body)["status"] == "committed"


# --- change sets as data, revert ---------------------------------------------------------------


def test_change_sets_are_queryable_and_can_be_reverted(writer):
    comment = '"revert me"@en'
    status, _, body = update(writer, insert_data(f"<district/chengyang> rdfs:comment {comment} ."),
                             query="?comment=" + urllib.parse.quote("a follow-up report"))
    seq = json.loads(body)["changeSet"]
    rows = select(writer, f"""SELECT ?who ?when ?why WHERE {{ GRAPH <{CHANGE}{seq}> {{
        <{CHANGE}{seq}> cs:creatorName ?who ; cs:createdDate ?when ; cs:changeReason ?why ;
            cs:addition [ rdf:subject <{CHENGYANG}> ; rdf:object {comment} ] }} }}""")
    assert [(r["who"]["value"], r["why"]["value"]) for r in rows] == [
        ("alice", "a follow-up report")]
    assert rows[0]["when"]["datatype"] == "http://www.w3.org/2001/XMLSchema#dateTime"
    status, _, body = call(f"{writer.url}/changes/{seq}/revert", "POST", b"", BOB_TOKEN,
                           Accept="application/json")
    reverted = json.loads(body)
    assert status == 200 and reverted["status"] == "committed"
    assert not ask(writer, in_article(CHENGYANG, str(RDFS.comment), comment))
    rows = select(writer, f"""SELECT ?who WHERE {{ GRAPH ?g {{ ?g cs:creatorName ?who ;
        prov:wasInformedBy <{CHANGE}{seq}> ; cs:removal [ rdf:object {comment} ] }} }}""")
    assert [r["who"]["value"] for r in rows] == ["bob"]
    status, _, _ = call(f"{writer.url}/changes/999999/revert", "POST", b"",
                        Accept="application/json")
    assert status == 404
    listed = json.loads(call(f"{writer.url}/changes", token=None)[2])["changes"]
    assert [c["changeSet"] for c in listed] == list(range(1, len(listed) + 1))


# --- concurrency -------------------------------------------------------------------------------


def test_concurrent_writers_lose_nothing_and_readers_see_whole_states(writer):
    writers, per_writer = 4, 4
    acknowledged: list[int] = []
    errors: list[str] = []
    counts: list[int] = []
    done = threading.Event()
    count_query = (f"SELECT (COUNT(?c) AS ?n) WHERE {{ GRAPH <{ARTICLE_GRAPH}> {{ <{CHENGYANG}> "
                   f"<{RDFS.comment}> ?c FILTER(STRSTARTS(STR(?c), 'concurrent ')) }} }}")

    def write(i: int) -> None:
        for k in range(per_writer):  # two triples per write: a reader must see both or none
            fact = (f'<district/chengyang> rdfs:comment "concurrent {i}-{k}-a"@en , '
                    f'"concurrent {i}-{k}-b"@en .')
            if k % 2:
                status, _, body = update(writer, insert_data(fact))
            else:
                status, _, body = post_graph(writer, turtle(fact))
            if status != 200:
                errors.append(body.decode())
            else:
                acknowledged.append(json.loads(body)["changeSet"])

    def read() -> None:
        while not done.is_set():
            counts.append(int(select(writer, count_query)[0]["n"]["value"]))

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    assert not errors
    assert len(set(acknowledged)) == writers * per_writer
    final = int(select(writer, count_query)[0]["n"]["value"])
    assert final == 2 * writers * per_writer
    assert counts and all(c % 2 == 0 for c in counts)  # never half a change set
    assert counts == sorted(counts)  # every read catches up with the journal: never backwards
    recorded = select(writer, f"""SELECT ?o (COUNT(DISTINCT ?g) AS ?n) WHERE {{ GRAPH ?g {{
        ?g cs:addition [ rdf:subject <{CHENGYANG}> ; rdf:object ?o ] }}
        FILTER(STRSTARTS(STR(?o), "concurrent ")) }} GROUP BY ?o""")
    assert len(recorded) == 2 * writers * per_writer
    assert {r["n"]["value"] for r in recorded} == {"1"}  # each recorded in one change set


# --- a killed process --------------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    """The server's workers and their query executors (from /proc: Linux)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, p in parents.items() if p == parent]
        found += children
        frontier += children
    return found


def test_a_killed_server_comes_back_with_every_acknowledged_write(server_factory, tmp_path):
    data_dir = str(tmp_path / "data")
    env = {"QDKG_WRITE_TOKENS": WRITE_TOKENS}
    first = server_factory("--data-dir", data_dir, "--workers", "2", env=env)
    acknowledged: list[int] = []
    stop = threading.Event()

    def stream() -> None:
        i = 0
        while not stop.is_set():
            facts = " ".join(f'<district/chengyang> rdfs:comment "killed {i}-{part}"@en .'
                             for part in "abc")
            try:
                status, _, _ = post_graph(first, turtle(facts))
            except OSError:
                return
            if status == 200:
                acknowledged.append(i)
            i += 1

    thread = threading.Thread(target=stream)
    thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.process.send_signal(signal.SIGSTOP)  # no new workers while the old ones are killed
    for pid in _descendants(first.process.pid):  # mid-stream: a worker may be inside a write
        os.kill(pid, signal.SIGKILL)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    stop.set()
    thread.join()
    assert len(acknowledged) >= 5

    second = server_factory("--data-dir", data_dir, env=env)
    rows = select(second, f"""SELECT ?c WHERE {{ GRAPH <{ARTICLE_GRAPH}> {{ <{CHENGYANG}>
        <{RDFS.comment}> ?c FILTER(STRSTARTS(STR(?c), "killed ")) }} }}""")
    parts: dict[int, set[str]] = {}
    for row in rows:
        number, part = row["c"]["value"].removeprefix("killed ").split("-")
        parts.setdefault(int(number), set()).add(part)
    assert set(acknowledged) <= set(parts)
    assert all(found == {"a", "b", "c"} for found in parts.values())  # nothing half-written
    status, _, body = post_graph(second, turtle(
        '<district/chengyang> rdfs:comment "after the restart"@en .'))
    assert status == 200 and json.loads(body)["changeSet"] == len(parts) + 1


def test_dataset_dump_is_parseable(writer):
    status, _, body = call(f"{writer.url}/store", token=None, Accept="application/trig")
    assert status == 200
    dataset = Dataset()
    dataset.parse(data=body, format="trig")
    assert URIRef(ARTICLE_GRAPH) in {g.identifier for g in dataset.graphs()}


def test_without_a_data_dir_workers_share_a_temporary_journal(server_factory):
    srv = server_factory("--workers", "2", env={"QDKG_WRITE_TOKENS": WRITE_TOKENS})
    fact = '<district/chengyang> rdfs:comment "kept in a temporary journal"@en .'
    status, _, _ = post_graph(srv, turtle(fact))
    assert status == 200
    where = in_article(CHENGYANG, str(RDFS.comment), '"kept in a temporary journal"@en')
    assert all(ask(srv, where) for _ in range(6))  # whichever worker answers
    match = re.search(r"accepted changes are kept in (\S+) and", srv.log())
    assert match and Path(match.group(1), "journal", "changes.log").exists()
    srv.stop()
    assert not Path(match.group(1)).exists()  # gone with the service, as documented
