"""A remote SPARQL 1.1 store over HTTP: the scale-out backend behind the same Store interface.

Queries go through SPARQLWrapper and come back as pyoxigraph result objects (parsed with
pyoxigraph), so callers cannot tell this store from the embedded one. Writes use the SPARQL 1.1
Update protocol; loading a file uses the Graph Store Protocol (one POST per graph).

The remote store must be configured so that its default graph is the union of its named graphs
(Oxigraph: `oxigraph serve --union-default-graph`; Fuseki: `tdb2:unionDefaultGraph true`;
GraphDB and Virtuoso do this by default): queries are sent unchanged.

Endpoints: for a query URL ending in /query (Oxigraph, Fuseki) the update and graph store URLs
default to /update and /store beside it; otherwise updates go to the query URL itself and files
are loaded with INSERT DATA, unless the URLs are given.
"""

from __future__ import annotations

import ast
import socket
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, cast

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, URLENCODED, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed, SPARQLWrapperException

from .sparql_guard import inspect
from .store import SERIALIZATION_PREFIXES, QueryResult, StoreError, StoreTimeout, quad_data

_INSERT_CHUNK = 5000
_RESULTS_ACCEPT = "application/sparql-results+json, application/sparql-results+xml;q=0.8"
_GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.8, application/rdf+xml;q=0.5"


class RemoteStore:
    """A SPARQL 1.1 query endpoint (plus its update and graph store endpoints) as a Store."""

    def __init__(
        self,
        query_url: str,
        *,
        update_url: str | None = None,
        graph_store_url: str | None = None,
        timeout: float | None = 10.0,
    ) -> None:
        self.query_url = query_url
        beside = query_url[: -len("/query")] if query_url.endswith("/query") else None
        self.update_url = update_url or (beside + "/update" if beside else query_url)
        self.graph_store_url = graph_store_url or (beside + "/store" if beside else None)
        self.timeout = timeout
        for url in (self.query_url, self.update_url, self.graph_store_url):
            if url is not None and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
                raise StoreError(f"a remote store is reached over http(s), not at '{url}'")

    def query(
        self,
        sparql: str,
        *,
        default_graph: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> QueryResult:
        shape = inspect(sparql)
        graph_result = shape.form in ("CONSTRUCT", "DESCRIBE")
        if default_graph is None and named_graphs is None and shape.has_dataset:
            # A union-default-graph store lets that option override FROM (Oxigraph does), so
            # the query's own dataset is sent as the protocol's, which takes precedence.
            default_graph, named_graphs = shape.from_graphs, shape.from_named
        wrapper = SPARQLWrapper(self.query_url)
        wrapper.setMethod(POST)
        wrapper.setRequestMethod(URLENCODED)
        wrapper.setOnlyConneg(True)
        wrapper.setReturnFormat(TURTLE if graph_result else JSON)
        # The formats pyoxigraph parses fastest, whatever SPARQLWrapper guesses the form to be.
        wrapper.addCustomHttpHeader("Accept", _GRAPH_ACCEPT if graph_result else _RESULTS_ACCEPT)
        if self.timeout:
            wrapper.setTimeout(self.timeout)  # type: ignore[arg-type]
        for iri in default_graph or []:
            wrapper.addDefaultGraph(iri)
        for iri in named_graphs or []:
            wrapper.addNamedGraph(iri)
        try:
            with warnings.catch_warnings():
                # SPARQLWrapper warns when its own guess at the query form fails or disagrees
                # with the return format; the Accept header above is what counts.
                warnings.simplefilter("ignore", RuntimeWarning)
                wrapper.setQuery(sparql)
                response = wrapper.query().response
            body = response.read()
            media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        except QueryBadFormed as error:
            raise SyntaxError(_response_text(error)) from None
        except SPARQLWrapperException as error:
            raise StoreError(f"{self.query_url} answered: {_response_text(error)}") from None
        except (urllib.error.URLError, OSError) as error:
            raise _connection_error(self.query_url, error, self.timeout) from None
        return _parse_result(body, media_type, self.query_url)

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
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked in __init__
            url, data=body, method=method, headers={"Content-Type": content_type}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace").strip()
            if error.code == 400 and content_type == "application/sparql-update":
                raise SyntaxError(text) from None
            raise StoreError(f"{method} {url} answered {error.code}: {text}") from None
        except (urllib.error.URLError, OSError) as error:
            raise _connection_error(url, error, self.timeout) from None


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


def _response_text(error: SPARQLWrapperException) -> str:
    """The endpoint's own message, out of SPARQLWrapper's formatted exception text."""
    text = str(error)
    _, marker, raw = text.partition("Response:\n")
    if not marker:
        return text
    try:
        body = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw
    return body.decode("utf-8", "replace").strip() if isinstance(body, bytes) else str(body)


def _connection_error(url: str, error: Exception, timeout: float | None) -> StoreError:
    reason = getattr(error, "reason", error)
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return StoreTimeout(f"{url} did not answer within {timeout or 0:g} s")
    return StoreError(f"{url} could not be reached: {reason}")
