"""The remote store's connection: answers passed through as the store sent them, pooled
keep-alive connections, and credentials (HTTP basic and digest) for stores that want them.

The store is the real Oxigraph server (test_remote_store.py starts it); the credentials are
checked by a small authenticating HTTP proxy in front of it, as Virtuoso's `sparql-auth`
endpoint or a reverse proxy in front of Fuseki would.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import secrets
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pyoxigraph as ox
import pytest

from qdkg.remote_store import RemoteStore
from qdkg.store import StoreError
from test_remote_store import CHENGYANG, OxigraphServer, get, run_cli

USER, PASSWORD = "qdkg-loader", "s3cret:with colon"
REALM = "qdkg-test"
JSON = "application/sparql-results+json"


class AuthProxy:
    """Forwards every request to `upstream` once it carries the right credentials."""

    def __init__(self, upstream: str, scheme: str) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.scheme = scheme
        self.nonce = secrets.token_hex(8)
        self.challenged = 0  # 401s sent
        self.forwarded = 0
        self.connections: set[tuple[str, int]] = set()  # client addresses seen
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                proxy.connections.add(self.client_address)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not proxy.allowed(self.command, self.path, self.headers.get("Authorization")):
                    proxy.challenged += 1
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", proxy.challenge())
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                proxy.forwarded += 1
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port,
                                                  timeout=30)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("authorization", "host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name in ("Content-Type",):
                    if answer.getheader(name):
                        self.send_header(name, answer.getheader(name))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def challenge(self) -> str:
        if self.scheme == "basic":
            return f'Basic realm="{REALM}"'
        return f'Digest realm="{REALM}", nonce="{self.nonce}", qop="auth", algorithm=MD5'

    def allowed(self, method: str, path: str, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        if self.scheme == "basic":
            import base64

            return scheme == "Basic" and value == base64.b64encode(
                f"{USER}:{PASSWORD}".encode()).decode()
        if scheme != "Digest":
            return False
        fields = urllib.request.parse_keqv_list(urllib.request.parse_http_list(value))
        md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731, S324 - RFC 7616
        ha1 = md5(f"{USER}:{REALM}:{PASSWORD}")
        ha2 = md5(f"{method}:{fields.get('uri')}")
        expected = md5(f"{ha1}:{self.nonce}:{fields.get('nc')}:{fields.get('cnonce')}:auth:{ha2}")
        return (fields.get("username") == USER and fields.get("uri") == path
                and fields.get("response") == expected)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory, build_dir) -> Iterator[OxigraphServer]:
    """An Oxigraph server holding the build."""
    server = OxigraphServer(tmp_path_factory.mktemp("oxigraph-auth"))
    loaded = run_cli("load", "--store", server.query_url, build_dir=build_dir)
    assert loaded.returncode == 0, loaded.stderr
    yield server
    server.stop()


@pytest.fixture(params=["basic", "digest"])
def proxy(request, oxigraph) -> Iterator[AuthProxy]:
    front = AuthProxy(oxigraph.base, request.param)
    yield front
    front.stop()


def test_queries_and_updates_with_credentials(proxy):
    store = RemoteStore(proxy.base + "/query", user=USER, password=PASSWORD)
    graph = "http://example.org/auth-test"
    before = len(store)
    store.update(f"INSERT DATA {{ GRAPH <{graph}> {{ <{CHENGYANG}> <http://example.org/p> 1 }} }}")
    assert len(store) == before + 1
    store.update(f"DROP GRAPH <{graph}>")
    assert len(store) == before
    # One challenge taught the scheme; every later request carried the credentials at once.
    assert proxy.challenged == 1 and proxy.forwarded == 5
    # ... over one kept-alive connection.
    assert len(proxy.connections) == 1


def test_credentials_in_the_url(proxy):
    netloc = f"{urllib.parse.quote(USER)}:{urllib.parse.quote(PASSWORD, safe='')}@"
    store = RemoteStore(proxy.base.replace("http://", "http://" + netloc) + "/query")
    assert store.query_url == proxy.base + "/query"  # no password in what is logged or shown
    assert bool(store.query(f"ASK {{ <{CHENGYANG}> ?p ?o }}"))


def test_missing_or_wrong_credentials_are_store_errors(proxy):
    with pytest.raises(StoreError, match="QDKG_STORE_USER"):
        RemoteStore(proxy.base + "/query").query("ASK {}")
    with pytest.raises(StoreError, match="refused the credentials"):
        RemoteStore(proxy.base + "/query", user=USER, password="wrong").query("ASK {}")


def test_serve_with_credentials_from_the_environment(oxigraph, server_factory):
    front = AuthProxy(oxigraph.base, "digest")
    try:
        srv = server_factory("--store", front.base + "/query",
                             env={"QDKG_STORE_USER": USER, "QDKG_STORE_PASSWORD": PASSWORD})
        status, body = get(srv.url + "/sparql", {"query": f"ASK {{ <{CHENGYANG}> ?p ?o }}"})
        assert status == 200 and json.loads(body)["boolean"] is True
    finally:
        front.stop()


# --- answers passed through -----------------------------------------------------------------------


def direct(oxigraph: OxigraphServer, query: str, accept: str) -> bytes:
    request = urllib.request.Request(oxigraph.query_url, data=query.encode(), method="POST",
                                     headers={"Content-Type": "application/sparql-query",
                                              "Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - test server
        return response.read()


@pytest.mark.parametrize("media_type", [JSON, "application/sparql-results+xml",
                                        "text/tab-separated-values"])
def test_the_stores_answer_is_passed_through_when_it_fits(oxigraph, media_type):
    store = RemoteStore(oxigraph.query_url)
    query = f"SELECT ?p ?o WHERE {{ <{CHENGYANG}> ?p ?o }} ORDER BY ?p ?o"
    rows = len(list(store.query(query)))  # type: ignore[arg-type]
    assert rows > 3
    whole = store.answer(query, media_type, rows)
    assert (whole.body, whole.media_type, whole.truncated) == (
        direct(oxigraph, query, media_type), media_type, False)
    cut = store.answer(query, media_type, 3)  # over the row limit: parsed and cut
    assert cut.truncated
    parsed = ox.parse_query_results(cut.body, ox.QueryResultsFormat.from_media_type(media_type))
    assert len(list(parsed)) == 3  # type: ignore[arg-type]


def test_graph_answers_pass_through_as_n_triples(oxigraph):
    store = RemoteStore(oxigraph.query_url)
    query = f"CONSTRUCT {{ <{CHENGYANG}> ?p ?o }} WHERE {{ <{CHENGYANG}> ?p ?o }}"
    nt = store.answer(query, "application/n-triples", 10_000)
    assert nt.body == direct(oxigraph, query, "application/n-triples")
    turtle = store.answer(query, "text/turtle", 10_000)  # re-serialised, with our prefixes
    assert turtle.media_type == "text/turtle" and b"@prefix" in turtle.body
    assert set(ox.parse(turtle.body, format=ox.RdfFormat.TURTLE)) == set(
        ox.parse(nt.body, format=ox.RdfFormat.N_TRIPLES))
