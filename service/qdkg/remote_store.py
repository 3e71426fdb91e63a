"""A remote SPARQL 1.1 store over HTTP: the scale-out backend behind the same Store interface.

Requests go through a pool of keep-alive connections (urllib3), one pool per process (a pooled
socket must not be shared across fork). Query results come back as pyoxigraph result objects
(parsed with pyoxigraph), so callers cannot tell this store from the embedded one; `answer`
goes further for the query endpoint: when the store answers in the format the client asked
for and within the row limit, its bytes are passed through unparsed. Writes use the SPARQL 1.1
Update protocol; loading a file uses the Graph Store Protocol (one POST per graph).

SPARQLWrapper is not used here: what it adds over a plain form POST (guessing the query form,
choosing a format) is what this module decides itself, and it opens a new connection (urllib)
for every query, which costs the service more CPU than the rest of a lookup.

Credentials (user and password from the configuration, or in the URL: http://user:pass@host/)
are sent when the store asks for them, with HTTP basic or digest authentication as its
challenge says (Virtuoso's `sparql-auth` and GraphDB's secured endpoints); digest uses the
standard library's implementation.

The remote store must be configured so that its default graph is the union of its named graphs
(Oxigraph: `oxigraph serve --union-default-graph`; Fuseki: `tdb2:unionDefaultGraph true`;
GraphDB and Virtuoso do this by default): queries are sent unchanged.

Endpoints: for a query URL ending in /query (Oxigraph, Fuseki) the update and graph store URLs
default to /update and /store beside it; otherwise updates go to the query URL itself and files
are loaded with INSERT DATA, unless the URLs are given.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

import pyoxigraph as ox
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

from .sparql_guard import QueryShape, inspect
from .store import SERIALIZATION_PREFIXES, QueryResult, StoreError, StoreTimeout, quad_data

if TYPE_CHECKING:
    from .config import Config
    from .results import Rendered

_INSERT_CHUNK = 5000
_RESULTS_ACCEPT = "application/sparql-results+json, application/sparql-results+xml;q=0.8"
_GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.8, application/rdf+xml;q=0.5"
_FORM = "application/x-www-form-urlencoded"
_JSON, _XML, _TSV = ("application/sparql-results+json", "application/sparql-results+xml",
                     "text/tab-separated-values")
_NT = "application/n-triples"
# A pooled connection the store has closed in the meantime fails on reuse: a query is then sent
# once more on a new connection; an update only when it was not sent at all.
_QUERY_RETRIES = urllib3.Retry(total=2, connect=2, read=1, status=0, redirect=0, other=0,
                               allowed_methods=None, raise_on_status=False)
_WRITE_RETRIES = urllib3.Retry(total=2, connect=2, read=0, status=0, redirect=0, other=0,
                               allowed_methods=None, raise_on_status=False)


class RemoteStore:
    """A SPARQL 1.1 query endpoint (plus its update and graph store endpoints) as a Store."""

    def __init__(
        self,
        query_url: str,
        *,
        update_url: str | None = None,
        graph_store_url: str | None = None,
        timeout: float | None = 10.0,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        query_url, user, password = _credentials(query_url, user, password)
        self.query_url = query_url
        beside = query_url[: -len("/query")] if query_url.endswith("/query") else None
        update_url, user, password = _credentials(update_url, user, password)
        graph_store_url, user, password = _credentials(graph_store_url, user, password)
        self.update_url = update_url or (beside + "/update" if beside else query_url)
        self.graph_store_url = graph_store_url or (beside + "/store" if beside else None)
        self.timeout = timeout
        for url in (self.query_url, self.update_url, self.graph_store_url):
            if url is not None and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
                raise StoreError(f"a remote store is reached over http(s), not at '{url}'")
        self._auth = _Auth(user, password) if user is not None else None
        self._pool: urllib3.PoolManager | None = None
        self._pid = 0

    @classmethod
    def from_config(cls, config: Config, timeout: float | None = None) -> RemoteStore:
        assert config.store_url  # noqa: S101 - callers check
        return cls(config.store_url, update_url=config.store_update_url,
                   graph_store_url=config.store_graph_url,
                   timeout=config.query_timeout if timeout is None else timeout,
                   user=config.store_user, password=config.store_password)

    def query(
        self,
        sparql: str,
        *,
        default_graph: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> QueryResult:
        shape = inspect(sparql)
        graph_result = shape.form in ("CONSTRUCT", "DESCRIBE")
        body, media_type = self._ask(sparql, shape, _GRAPH_ACCEPT if graph_result else
                                     _RESULTS_ACCEPT, default_graph, named_graphs)
        return _parse_result(body, media_type, self.query_url)

    def answer(
        self,
        sparql: str,
        media_type: str,
        max_rows: int,
        describe: bool = False,
        *,
        default_graph: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> Rendered:
        """The query's answer as `media_type` (cut at `max_rows`), as results.render makes it.

        The store is asked for `media_type` first; when it answers in it, with no more than
        `max_rows` rows (counted without parsing the terms), its bytes are the answer.
        """
        from .results import GRAPH_FORMATS, SOLUTION_FORMATS, Rendered, render

        shape = inspect(sparql)
        graph_result = shape.form in ("CONSTRUCT", "DESCRIBE")
        table = GRAPH_FORMATS if graph_result else SOLUTION_FORMATS
        fallback = _GRAPH_ACCEPT if graph_result else _RESULTS_ACCEPT
        wanted = media_type if media_type in table else next(iter(table))
        passable = wanted in _COUNTERS and not describe
        accept = f"{wanted}, {_lowered(fallback)}" if passable else fallback
        body, returned = self._ask(sparql, shape, accept, default_graph, named_graphs)
        if passable and returned == wanted:
            rows = _COUNTERS[wanted](body)
            if rows is not None and rows <= max_rows:
                return Rendered(body, wanted, False)
        result = _parse_result(body, returned, self.query_url)
        return render(self, result, media_type, max_rows, describe)

    def _ask(self, sparql: str, shape: QueryShape, accept: str, default_graph: list[str] | None,
             named_graphs: list[str] | None) -> tuple[bytes, str]:
        """POST the query (form-encoded); the answer's bytes and media type."""
        if default_graph is None and named_graphs is None:
            if shape.has_dataset:
                # A union-default-graph store lets that option override FROM (Oxigraph does),
                # so the query's own dataset is sent as the protocol's, which takes precedence.
                default_graph, named_graphs = shape.from_graphs, shape.from_named
        fields = [("query", sparql)]
        fields += [("default-graph-uri", iri) for iri in default_graph or []]
        fields += [("named-graph-uri", iri) for iri in named_graphs or []]
        body = urllib.parse.urlencode(fields).encode("ascii")
        status, data, media_type = self._request(
            "POST", self.query_url, body, _FORM, accept=accept, retries=_QUERY_RETRIES)
        if status == 400:
            raise SyntaxError(data.decode("utf-8", "replace").strip())
        if status >= 300:
            raise StoreError(f"{self.query_url} answered {status}: "
                             f"{data.decode('utf-8', 'replace').strip()[:2000]}")
        return data, media_type

    def update(self, sparql: str) -> None:
        self._send("POST", self.update_url, sparql.encode("utf-8"), "application/sparql-update")

    def named_graphs(self) -> list[str]:
        rows = self._select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return sorted(row[0].value for row in rows if isinstance(row[0], ox.NamedNode))

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        """The quads of the named graphs (or of `graph`); all of this service's data is in them."""
        values = f"VALUES ?g {{ <{graph}> }}" if graph else ""
        rows = self._select(f"SELECT ?s ?p ?o ?g WHERE {{ {values} GRAPH ?g {{ ?s ?p ?o }} }}")
        return (ox.Quad(row[0], row[1], row[2], row[3]) for row in rows)

    def replace(self, remove: Iterable[ox.Quad], add: Iterable[ox.Quad]) -> None:
        """Remove then add in one update request, which the store applies as one transaction."""
        remove, add = list(remove), list(add)
        parts = []
        if remove:
            parts.append("DELETE DATA {\n" + "\n".join(quad_data(q) for q in remove) + "\n}")
        if add:
            parts.append("INSERT DATA {\n" + "\n".join(quad_data(q) for q in add) + "\n}")
        if parts:
            self.update(" ;\n".join(parts))

    def load_file(self, path: Path) -> None:
        self.load_dataset(path)

    def load_dataset(self, path: Path, *, replace: bool = False) -> int:
        """Add the file's quads (or, with `replace`, replace the graphs it holds); the count."""
        fmt = ox.RdfFormat.from_extension(Path(path).suffix.lstrip("."))
        if fmt is None:
            raise StoreError(f"unknown RDF file extension: {path}")
        by_graph: dict[ox.NamedNode | ox.BlankNode | ox.DefaultGraph, list[ox.Triple]]
        by_graph = defaultdict(list)
        for quad in ox.parse(path=str(path), format=fmt):
            by_graph[quad.graph_name].append(quad.triple)
        for graph, triples in by_graph.items():
            default = isinstance(graph, ox.DefaultGraph)
            if self.graph_store_url:
                target = "default" if isinstance(graph, ox.DefaultGraph) else (
                    "graph=" + urllib.parse.quote(graph.value, ""))
                body = cast(bytes, ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
                url = f"{self.graph_store_url}?{target}"
                self._send("PUT" if replace else "POST", url, body, "application/n-triples")
                continue
            if replace:
                self.update("DROP SILENT DEFAULT" if default else f"DROP SILENT GRAPH {graph}")
            quads = (ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)
            while chunk := list(islice(quads, _INSERT_CHUNK)):
                self.replace([], chunk)
        return sum(len(t) for t in by_graph.values())

    def dump(self, output: IO[bytes], format: ox.RdfFormat) -> None:
        ox.serialize(self.quads(), output, format=format, prefixes=(
            SERIALIZATION_PREFIXES if format == ox.RdfFormat.TRIG else None))

    def __len__(self) -> int:
        rows = list(self._select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"))
        return int(rows[0][0].value) if rows else 0

    def _select(self, sparql: str) -> ox.QuerySolutions:
        return cast(ox.QuerySolutions, self.query(sparql))

    def _send(self, method: str, url: str, body: bytes, content_type: str) -> None:
        status, data, _ = self._request(method, url, body, content_type, retries=_WRITE_RETRIES)
        if status >= 300:
            text = data.decode("utf-8", "replace").strip()
            if status == 400 and content_type == "application/sparql-update":
                raise SyntaxError(text)
            raise StoreError(f"{method} {url} answered {status}: {text[:2000]}")

    def _connections(self) -> urllib3.PoolManager:
        """This process's connection pool (made anew in a forked child)."""
        if self._pool is None or self._pid != os.getpid():
            self._pool = urllib3.PoolManager(num_pools=4, maxsize=16, block=False)
            self._pid = os.getpid()
        return self._pool

    def _request(self, method: str, url: str, body: bytes, content_type: str, *,
                 accept: str | None = None, retries: urllib3.Retry) -> tuple[int, bytes, str]:
        """(status, body, media type); authenticates when the store asks for credentials."""
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
        pool = self._connections()
        for attempt in range(2):
            if self._auth is not None:
                headers.pop("Authorization", None)
                headers.update(self._auth.header(method, url, body))
            try:
                response = pool.request(method, url, body=body, headers=headers,
                                        timeout=timeout, retries=retries, redirect=False)
            except (MaxRetryError, Urllib3Error, OSError) as error:
                raise _connection_error(url, error, self.timeout) from None
            if response.status == 401 and self._auth is not None and attempt == 0:
                challenge = response.headers.get_all("WWW-Authenticate") or []
                if self._auth.challenged(challenge):
                    continue
            break
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if response.status == 401:
            hint = ("the store refused the credentials" if self._auth is not None else
                    "the store asks for credentials: set QDKG_STORE_USER and "
                    "QDKG_STORE_PASSWORD (or put them in the store's URL)")
            raise StoreError(f"{method} {url} answered 401: {hint}")
        return response.status, response.data, media_type


def _credentials(url: str | None, user: str | None, password: str | None
                 ) -> tuple[str | None, str | None, str | None]:
    """The URL without its user:password@ part, and the credentials (the URL's unless given)."""
    if url is None:
        return None, user, password
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, user, password
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    bare = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return (bare, user if user is not None else urllib.parse.unquote(parts.username),
            password if password is not None else urllib.parse.unquote(parts.password or ""))


class _Auth:
    """Credentials, sent as the store's challenge asks: basic, or digest (RFC 7616, through
    urllib's implementation, which keeps the nonce count). Nothing is sent before the store
    has asked, so a password never goes as basic authentication to a digest endpoint."""

    def __init__(self, user: str, password: str | None) -> None:
        self.user, self.password = user, password or ""
        self.scheme: str | None = None
        self._digest: urllib.request.HTTPDigestAuthHandler | None = None
        self._passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        self._sites: set[str] = set()
        self._challenge: dict[str, str] = {}
        self._lock = threading.Lock()

    def challenged(self, challenges: list[str]) -> bool:
        """Learn the scheme from a 401's WWW-Authenticate; whether to try again."""
        for challenge in challenges:
            scheme, _, params = challenge.strip().partition(" ")
            if scheme.lower() == "digest":
                with self._lock:
                    self._passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
                    self._sites = set()
                    self._digest = urllib.request.HTTPDigestAuthHandler(self._passwords)
                    self._challenge = urllib.request.parse_keqv_list(
                        urllib.request.parse_http_list(params))
                    self.scheme = "digest"
                return True
        if any(c.strip().lower().startswith("basic") for c in challenges):
            if self.scheme == "basic":
                return False  # the credentials themselves were refused
            self.scheme = "basic"
            return True
        return False

    def header(self, method: str, url: str, body: bytes) -> dict[str, str]:
        if self.scheme == "basic":
            return urllib3.make_headers(basic_auth=f"{self.user}:{self.password}")
        if self.scheme == "digest" and self._digest is not None:
            request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - not opened
            with self._lock:
                site = urllib.parse.urlsplit(url)._replace(path="/", query="").geturl()
                if site not in self._sites:  # the password manager finds passwords by URL
                    self._passwords.add_password(None, site, self.user, self.password)
                    self._sites.add(site)
                value = self._digest.get_authorization(request, self._challenge)
            if value:
                return {"Authorization": "Digest " + value}
        return {}


def _lowered(accept: str) -> str:
    """An Accept list with every entry below a preferred type's default quality of 1."""
    return ", ".join(item.split(";")[0].strip() + ";q=0.5" for item in accept.split(","))


def _count_json(body: bytes) -> int | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if "boolean" in data:
        return 1
    bindings = data.get("results", {}).get("bindings")
    return len(bindings) if isinstance(bindings, list) else None


def _count_lines(body: bytes, header: int) -> int:
    # TSV and N-Triples escape line breaks inside terms: one row (triple) per line.
    return sum(1 for line in body.splitlines() if line.strip() and not line.startswith(b"#")) \
        - header


# Media types whose rows can be counted without parsing terms (None: cannot tell).
_COUNTERS = {
    _JSON: _count_json,
    _XML: lambda body: body.count(b"<result>") + body.count(b"<boolean>"),
    _TSV: lambda body: _count_lines(body, 1),
    _NT: lambda body: _count_lines(body, 0),
}


def _parse_result(body: bytes, media_type: str, url: str) -> QueryResult:
    results_format = ox.QueryResultsFormat.from_media_type(media_type) if media_type else None
    try:
        if results_format is not None:
            return ox.parse_query_results(body, results_format)
        rdf_format = ox.RdfFormat.from_media_type(media_type) if media_type else None
        if rdf_format is None:
            raise StoreError(f"{url} answered with an unexpected media type '{media_type}'")
        # QueryTriples has no constructor: a scratch store turns the parsed graph into one.
        scratch = ox.Store()
        scratch.load(body, format=rdf_format)
        return scratch.query("CONSTRUCT WHERE { ?s ?p ?o }")
    except (SyntaxError, ValueError) as error:
        raise StoreError(f"{url} answered with unreadable {media_type}: {error}") from None


def _connection_error(url: str, error: Exception, timeout: float | None) -> StoreError:
    reason = getattr(error, "reason", None) or error
    if isinstance(reason, (TimeoutError, ReadTimeoutError)):
        return StoreTimeout(f"{url} did not answer within {timeout or 0:g} s")
    return StoreError(f"{url} could not be reached: {reason}")
