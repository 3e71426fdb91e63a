"""The store: one small interface over embedded Oxigraph (default) or a remote SPARQL 1.1 store.

Everything above this module speaks pyoxigraph terms and results, whichever backend is in use,
so the web layer never needs to know where the data lives and never touches rdflib's evaluator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol

import pyoxigraph as ox

from .namespaces import PREFIXES

# Instance IRIs (qid:district/chengyang) would need an escaped slash as prefixed names
# (qid:district\/chengyang): written in full they are easier to read and to copy.
SERIALIZATION_PREFIXES = {name: iri for name, iri in PREFIXES.items() if name != "qid"}

Term = ox.NamedNode | ox.BlankNode | ox.Literal
QueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples


class StoreError(Exception):
    """The store could not answer (unreachable, broken); the web layer turns it into a 5xx."""


class StoreTimeout(StoreError):
    """A remote store did not answer within the time limit."""


class Store(Protocol):
    """What the service needs from a store. Queries see the union of all graphs by default."""

    def query(
        self,
        sparql: str,
        *,
        default_graph: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> QueryResult: ...

    def update(self, sparql: str) -> None: ...

    def named_graphs(self) -> list[str]: ...

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]: ...

    def replace(self, remove: Iterable[ox.Quad], add: Iterable[ox.Quad]) -> None: ...

    def load_file(self, path: Path) -> None: ...

    def dump(self, output: IO[bytes], format: ox.RdfFormat) -> None: ...

    def __len__(self) -> int: ...


_FROM = re.compile("from", re.IGNORECASE | re.ASCII)


def _graph_nodes(iris: list[str] | None) -> list[Any] | None:
    return None if iris is None else [ox.NamedNode(i) for i in iris]


class OxigraphStore:
    """Embedded pyoxigraph: in memory, or persistent in `path`."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._store = ox.Store(str(path)) if path is not None else ox.Store()

    @property
    def raw(self) -> ox.Store:
        return self._store

    def query(
        self,
        sparql: str,
        *,
        default_graph: list[str] | None = None,
        named_graphs: list[str] | None = None,
    ) -> QueryResult:
        """Evaluate `sparql`; with neither argument, over the union of all graphs as default graph.

        A query's own FROM / FROM NAMED clauses are honoured (pyoxigraph would let the union
        option override them); `default_graph`/`named_graphs` override both, as the SPARQL
        protocol's default-graph-uri/named-graph-uri do. Raises SyntaxError for a bad query.
        """
        if default_graph is None:
            if named_graphs is None and names_its_dataset(sparql):
                return self._store.query(sparql)
            return self._store.query(
                sparql, use_default_graph_as_union=True, named_graphs=_graph_nodes(named_graphs)
            )
        return self._store.query(
            sparql,
            default_graph=_graph_nodes(default_graph),
            named_graphs=_graph_nodes(named_graphs),
        )

    def update(self, sparql: str) -> None:
        self._store.update(sparql)

    def named_graphs(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        g = ox.NamedNode(graph) if graph else None
        return iter(self._store.quads_for_pattern(None, None, None, g))

    def replace(self, remove: Iterable[ox.Quad], add: Iterable[ox.Quad]) -> None:
        """Remove then add, as one transaction: readers see the old state or the new one."""
        remove, add = list(remove), list(add)
        if not remove:
            self._store.extend(add)
            return
        # pyoxigraph's transactional unit is an update; DELETE DATA + INSERT DATA in one request.
        body = ["DELETE DATA {"]
        body += [quad_data(q) for q in remove]
        body.append("} ;\nINSERT DATA {")
        body += [quad_data(q) for q in add]
        body.append("}")
        self._store.update("\n".join(body))

    def load_file(self, path: Path) -> None:
        fmt = ox.RdfFormat.from_extension(Path(path).suffix.lstrip("."))
        if fmt is None:
            raise StoreError(f"unknown RDF file extension: {path}")
        self._store.bulk_load(path=str(path), format=fmt)

    def dump(self, output: IO[bytes], format: ox.RdfFormat) -> None:
        """Every quad, written to `output` (a dataset format keeps the graph names)."""
        prefixes = SERIALIZATION_PREFIXES if format == ox.RdfFormat.TRIG else None
        self._store.dump(output, format=format, prefixes=prefixes)

    def __len__(self) -> int:
        return len(self._store)


def names_its_dataset(sparql: str) -> bool:
    """Whether the query has FROM or FROM NAMED clauses (checked without parsing when it cannot)."""
    if _FROM.search(sparql) is None:
        return False
    from .sparql_guard import inspect

    return inspect(sparql).has_dataset


def quad_data(quad: ox.Quad) -> str:
    triple = f"{quad.subject} {quad.predicate} {quad.object} ."
    if isinstance(quad.graph_name, ox.DefaultGraph):
        return triple
    return f"GRAPH {quad.graph_name} {{ {triple} }}"


def open_store(
    path: Path | None = None,
    url: str | None = None,
    *,
    update_url: str | None = None,
    graph_store_url: str | None = None,
    timeout: float | None = None,
) -> Store:
    """The configured backend: a remote SPARQL store when `url` is given, else embedded Oxigraph."""
    if url:
        from .remote_store import RemoteStore

        return RemoteStore(
            url, update_url=update_url, graph_store_url=graph_store_url, timeout=timeout
        )
    return OxigraphStore(path)
