"""Attacks against a real server: reading or calling out through the data, writing without a
token, fishing for secrets in answers and logs, script in pages, floods, and cross-origin writes.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse

import pytest

from conftest import WRITE_TOKEN, WRITE_TOKENS, start_server
from http_probe import ARTICLE, Reply, authorised, call, connections, dump, insert, listener, update

PASSWD = "/etc/passwd"
PASSWD_LINE = "root:x:0:0"
BOB_TOKEN = "bob-token-9876543210"
CHENGYANG = "https://w3id.org/qdkg/id/district/chengyang"
COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"


@pytest.fixture(scope="module")
def target(build_dir, tmp_path_factory):
    """A writable server whose log is read after the attacks."""
    data = tmp_path_factory.mktemp("attacks")
    srv = start_server(build_dir, data, "--data-dir", str(data / "data"), "--query-timeout", "2",
                       env={"QDKG_WRITE_TOKENS": WRITE_TOKENS})
    srv.log_start = len(srv.log())  # type: ignore[attr-defined]
    srv.before = dump(srv.url)  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def no_leak(reply: Reply) -> Reply:
    assert PASSWD_LINE not in reply.text and "Traceback" not in reply.text
    assert WRITE_TOKEN not in reply.text
    assert reply.status < 500, (reply.status, reply.text[:300])
    return reply


# --- nothing fetched, nothing read -------------------------------------------------------------


def outbound_attempts(url: str) -> list[tuple[str, str, bytes | str, dict[str, str]]]:
    """(method, path, body, headers) that would fetch from `url` (or read a local file) if the
    service followed what the data names."""
    xxe = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY remote SYSTEM "{url}/entity">'
           f'<!ENTITY local SYSTEM "file://{PASSWD}">]>'
           '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
           'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">'
           f'<rdf:Description rdf:about="{CHENGYANG}"><rdfs:comment>&remote;&local;'
           '</rdfs:comment></rdf:Description></rdf:RDF>')
    jsonld_remote = json.dumps({"@context": f"{url}/context.jsonld", "@id": CHENGYANG,
                                "comment": "x"})
    jsonld_file = json.dumps({"@context": f"file://{PASSWD}", "@id": CHENGYANG, "comment": "x"})
    jsonld_import = json.dumps({"@context": {"@import": f"{url}/ctx", "@version": 1.1},
                                "@id": CHENGYANG})
    imports = (f"<{url}/onto> a <http://www.w3.org/2002/07/owl#Ontology> ; "
               f"<http://www.w3.org/2002/07/owl#imports> <{url}/other.ttl> , <file://{PASSWD}> .")
    turtle = {"Content-Type": "text/turtle", "Accept": "application/json"}
    sparql = {"Content-Type": "application/sparql-query"}
    write = authorised({"Content-Type": "application/sparql-update"})
    # writes as dry runs: parsed, reasoned over and validated like any write, never committed
    store = f"/store?dry-run=true&graph={urllib.parse.quote(ARTICLE)}"
    return [
        ("POST", "/validate", xxe, {"Content-Type": "application/rdf+xml"}),
        ("POST", store, xxe, authorised({"Content-Type": "application/rdf+xml"})),
        ("POST", "/validate", jsonld_remote, {"Content-Type": "application/ld+json"}),
        ("POST", "/validate", jsonld_file, {"Content-Type": "application/ld+json"}),
        ("POST", "/validate", jsonld_import, {"Content-Type": "application/ld+json"}),
        ("POST", store, jsonld_remote, authorised({"Content-Type": "application/ld+json"})),
        ("POST", "/validate", imports, turtle),
        ("POST", store, imports, authorised({"Content-Type": "text/turtle"})),
        ("POST", "/update?dry-run=true", insert(imports), write),
        ("POST", "/update", f"LOAD <{url}/data.ttl> INTO GRAPH <{ARTICLE}>", write),
        ("POST", "/update", f"LOAD <file://{PASSWD}> INTO GRAPH <{ARTICLE}>", write),
        ("POST", "/update", f"INSERT {{ GRAPH <{ARTICLE}> {{ ?s ?p ?o }} }} WHERE {{ SERVICE "
                            f"<{url}/sparql> {{ ?s ?p ?o }} }}", write),
        ("POST", "/sparql", f"SELECT * WHERE {{ SERVICE <{url}/sparql> {{ ?s ?p ?o }} }}", sparql),
        ("POST", "/sparql", f"SELECT * WHERE {{ SERVICE <file://{PASSWD}> {{ ?s ?p ?o }} }}",
         sparql),
        ("POST", "/sparql", f"SELECT * FROM <file://{PASSWD}> WHERE {{ ?s ?p ?o }}",  # noqa: S608
         sparql),
        ("POST", "/sparql", f"LOAD <{url}/data.ttl>", sparql),
        ("GET", "/sparql?" + urllib.parse.urlencode({"query": "ASK {}",
                                                     "default-graph-uri": f"file://{PASSWD}"}),
         b"", {}),
        ("GET", "/store?" + urllib.parse.urlencode({"graph": f"{url}/graph"}), b"", {}),
        ("GET", "/store?" + urllib.parse.urlencode({"graph": f"file://{PASSWD}"}), b"", {}),
    ]


def test_no_outbound_connection_and_no_file_read(target):
    with listener() as (url, sock):
        for method, path, body, headers in outbound_attempts(url):
            reply = no_leak(call(target.url + path, method, body or None, headers))
            # refused, or (owl:imports) read as plain data, never followed
            assert reply.status in (200, 400, 404, 422), (path, reply.status, reply.text[:300])
        time.sleep(0.5)  # a connection attempt, had there been one, would now be in the backlog
        assert connections(sock) == 0
    assert dump(target.url) == target.before  # type: ignore[attr-defined]


def test_entity_expansion_bombs_are_refused(server):
    """'Billion laughs': pyoxigraph's RDF/XML parser would expand these without a limit."""
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE r [{entities}]>'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">'
            f'<rdf:Description rdf:about="{CHENGYANG}"><rdfs:comment>&l9;</rdfs:comment>'
            "</rdf:Description></rdf:RDF>")
    started = time.monotonic()
    reply = no_leak(call(server.url + "/validate", "POST", bomb,
                         {"Content-Type": "application/rdf+xml"}))
    assert reply.status == 400 and "entit" in reply.text
    assert time.monotonic() - started < 10  # refused before any expansion, not after
    assert call(server.url + "/health").status == 200


@pytest.mark.parametrize("path", [
    "/doc/../../../../etc/passwd", "/doc/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/../../../../etc/passwd", "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/id/..%2f..%2f..%2fetc%2fpasswd", "/ontology/..%2f..%2fetc%2fpasswd",
    "/dump.nq/../../etc/passwd", "/static//etc/passwd",
])
def test_no_path_traversal(server, path):
    reply = no_leak(call(server.url + path))
    assert reply.status in (303, 308, 400, 404), (path, reply.status)
    if reply.status == 308:  # Werkzeug merges the slashes; the file is still not there
        assert no_leak(call(reply.headers["location"])).status == 404


# --- writes need a valid token ---------------------------------------------------------------


def _write_requests() -> list[tuple[str, str, str, str]]:
    fact = f'<{CHENGYANG}> <{COMMENT}> "written without a token"@en .'
    store = f"/store?graph={urllib.parse.quote(ARTICLE)}"
    return [("POST", "/update", insert(fact), "application/sparql-update"),
            ("POST", "/update", urllib.parse.urlencode({"update": insert(fact)}),
             "application/x-www-form-urlencoded"),
            ("PUT", store, fact, "application/n-triples"),
            ("POST", store, fact, "application/n-triples"),
            ("DELETE", store, "", "text/turtle"),
            ("POST", "/changes/1/revert", "", "text/plain")]


@pytest.mark.parametrize("authorization, status", [
    (None, 401), ("", 401), ("Bearer", 401), ("Bearer ", 401), (f"Basic {WRITE_TOKEN}", 401),
    (f"Token {WRITE_TOKEN}", 401), (f"Bearer {WRITE_TOKEN[:-1]}", 403),
    (f"Bearer {WRITE_TOKEN}x", 403), (f"Bearer {WRITE_TOKEN.upper()}", 403),
    ("Bearer alice", 403), (f"Bearer alice:{WRITE_TOKEN}", 403), ("Bearer \u00e9", 403),
])
def test_writes_without_a_valid_token_are_refused(target, authorization, status):
    for method, path, body, media in _write_requests():
        headers = {"Content-Type": media, "Accept": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        reply = no_leak(call(target.url + path, method, body.encode("utf-8"), headers))
        assert reply.status == status, (method, path, reply.status, reply.text)
        if status == 401:
            assert reply.headers["www-authenticate"].startswith("Bearer")
    for where in ("?access_token=", "?token="):  # a token in the URL is not a credential here
        reply = call(target.url + "/update" + where + WRITE_TOKEN, "POST",
                     insert(f'<{CHENGYANG}> <{COMMENT}> "x"@en .'),
                     {"Content-Type": "application/sparql-update"})
        assert reply.status == 401
    assert dump(target.url) == target.before  # type: ignore[attr-defined]


def test_a_server_without_tokens_refuses_every_write(server):
    for method, path, body, media in _write_requests():
        reply = call(server.url + path, method, body.encode(),
                     {"Content-Type": media, "Authorization": f"Bearer {WRITE_TOKEN}"})
        assert reply.status == 403 and "writes are disabled" in reply.text


# --- pages escape the data and forbid scripts --------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/query", "/validate", "/ontology", "/shapes",
                                  "/doc/district/chengyang", "/doc/graph/article",
                                  "/doc/district/no-such-district"])
def test_every_html_page_sends_a_strict_content_security_policy(server, path):
    reply = call(server.url + path, headers={"Accept": "text/html"})
    assert reply.status in (200, 404)
    assert reply.headers["content-type"].startswith("text/html")
    policy = {part.split()[0]: part.split()[1:]
              for part in reply.headers["content-security-policy"].split(";") if part.strip()}
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    for directive, sources in policy.items():
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(sources) or (
            directive == "img-src" and set(sources) <= {"'self'", "data:"}), (directive, sources)
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in reply.text  # scripts only from files: <script src=...>


def test_script_in_the_data_is_inert_in_pages(target):
    fact = (f'<{CHENGYANG}> <{COMMENT}> "</p><script>alert(\'c\')</script>'
            f'<a href=\\"javascript:alert(1)\\">x</a>"@en .')
    reply = update(target.url, insert(fact))
    assert reply.status == 200, reply.text
    page = call(target.url + "/doc/district/chengyang.html?lang=en")
    assert page.status == 200
    assert "<script>alert('c')" not in page.text and 'href="javascript:' not in page.text
    assert "&lt;script&gt;alert(&#39;c&#39;)&lt;/script&gt;" in page.text
    seq = json.loads(reply.body)["changeSet"]
    assert call(target.url + f"/changes/{seq}/revert", "POST", b"", authorised()).status == 200


# --- limits hold under a flood -------------------------------------------------------------------

SLOW = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . "
        "FILTER(STR(?c) != STR(?f)) }")
LABELS = f"SELECT ?l WHERE {{ <{CHENGYANG}> <http://www.w3.org/2000/01/rdf-schema#label> ?l }}"


def test_size_and_time_limits_hold_while_a_reader_is_served(target):
    big = b"ASK {} #" + b"x" * 3_000_000
    outcomes: list[int] = []
    reader: list[tuple[int, float]] = []
    done = threading.Event()

    def attack(kind: str) -> None:
        for _ in range(3):
            if kind == "big":
                reply = call(target.url + "/sparql", "POST", big,
                             {"Content-Type": "application/sparql-query"})
            else:
                reply = call(target.url + "/sparql", "POST", SLOW,
                             {"Content-Type": "application/sparql-query"})
            outcomes.append(reply.status)

    def read() -> None:
        while not done.is_set():
            started = time.monotonic()
            reply = call(target.url + "/sparql?" + urllib.parse.urlencode({"query": LABELS}))
            reader.append((reply.status, time.monotonic() - started))

    attackers = [threading.Thread(target=attack, args=(k,)) for k in ("big", "big", "slow",
                                                                    "slow")]
    reading = threading.Thread(target=read)
    reading.start()
    for thread in attackers:
        thread.start()
    for thread in attackers:
        thread.join()
    done.set()
    reading.join()
    assert sorted(set(outcomes)) == [413, 503], outcomes  # too big, or stopped at the time limit
    assert reader and {status for status, _ in reader} == {200}
    assert len(reader) >= 3  # the reader kept getting answers during the flood


def test_a_runaway_update_is_stopped_and_releases_the_write_lock(target):
    slow = (f"INSERT {{ GRAPH <{ARTICLE}> {{ <{CHENGYANG}> <{COMMENT}> ?n }} }} WHERE {{ "
            "SELECT (STR(COUNT(*)) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } }")
    started = time.monotonic()
    reply = update(target.url, slow)
    assert reply.status == 503 and "Traceback" not in reply.text, reply.text
    assert "2-second time limit" in json.loads(reply.body)["error"]
    assert time.monotonic() - started < 30  # stopped, not left to run (or to gunicorn's timeout)
    fact = f'<{CHENGYANG}> <{COMMENT}> "after the runaway"@en .'
    accepted = update(target.url, insert(fact))
    assert accepted.status == 200, accepted.text  # the lock was released
    seq = json.loads(accepted.body)["changeSet"]
    assert call(target.url + f"/changes/{seq}/revert", "POST", b"", authorised()).status == 200


# --- cross-origin: reads open, writes closed -------------------------------------------------------


def test_cors_allows_reads_only(target):
    origin = {"Origin": "https://attacker.example"}
    for path in ("/sparql?" + urllib.parse.urlencode({"query": LABELS}), "/dump.nq",
                 "/doc/district/chengyang", "/.well-known/void"):
        reply = call(target.url + path, headers=origin)
        assert reply.headers.get("access-control-allow-origin") == "*", path
        assert "access-control-allow-credentials" not in reply.headers
    for path, method in (("/update", "POST"), ("/store", "PUT"), ("/store", "DELETE"),
                         ("/store", "POST"), ("/changes/1/revert", "POST")):
        preflight = call(target.url + path, "OPTIONS", headers={
            **origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type"})
        # without Access-Control-Allow-Origin a browser does not send the write at all
        assert "access-control-allow-origin" not in preflight.headers, path
        assert "authorization" not in preflight.headers.get(
            "access-control-allow-headers", "").lower()
    reply = update(target.url, insert(f'<{CHENGYANG}> <{COMMENT}> "cross-origin"@en .'),
                   token="not-a-token", Origin="https://attacker.example")
    assert reply.status == 403 and "access-control-allow-origin" not in reply.headers


# --- nothing secret in answers or logs: runs last ------------------------------------------------


def test_no_token_path_or_trace_in_answers_or_log(target, tmp_path):
    bad = [
        ("GET", "/sparql?query=SELEKT", b"", {}),
        ("POST", "/update", b"INSERT DATA {", authorised({"Content-Type":
                                                          "application/sparql-update"})),
        ("POST", "/update", b"INSERT DATA {", {"Authorization": f"Bearer {WRITE_TOKEN}0",
                                               "Content-Type": "application/sparql-update"}),
        ("POST", "/validate", b"@prefix : <x> . :a :b", {"Content-Type": "text/turtle"}),
        ("GET", "/doc/district/%FF", b"", {}),
        ("GET", "/store?graph=urn:none", b"", {"Accept": "text/turtle"}),
        ("POST", f"/store?graph={urllib.parse.quote(ARTICLE)}", b"<a> <b> .",
         authorised({"Content-Type": "text/turtle"})),
        ("POST", "/changes/999/revert", b"", authorised({"Authorization": f"Bearer {BOB_TOKEN}"})),
        ("GET", "/dump.exe", b"", {}),
        ("GET", "/ontology/9.9.9", b"", {}),
        ("PATCH", "/sparql", b"", {}),
        ("GET", "/sparql?query=" + urllib.parse.quote(SLOW), b"", {}),  # stopped at the limit
    ]
    for method, path, body, headers in bad:
        reply = call(target.url + path, method, body or None, headers)
        assert 400 <= reply.status < 500 or reply.status == 503, (path, reply.status)
        for secret in (WRITE_TOKEN, BOB_TOKEN, "/tmp/", str(tmp_path), "Traceback", 'File "'):
            assert secret not in reply.text and secret not in str(reply.headers), (path, secret)
    time.sleep(0.3)  # the access log line is written just after the answer
    log = target.log()[target.log_start:]  # type: ignore[attr-defined]
    # A token sent in the URL is in the access log like any URL: the one test that does it on
    # purpose (to show it is not accepted there) is left out.
    log = "\n".join(line for line in log.splitlines() if "token=" not in line)
    assert "\"POST /update HTTP/1.1\" 403" in log  # the session is in the log
    for secret in (WRITE_TOKEN, BOB_TOKEN, "/tmp/", "Traceback", 'File "'):
        assert secret not in log, secret
