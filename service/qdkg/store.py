"""The store: one small interface over embedded Oxigraph (default) or a remote SPARQL 1.1 store.

Everything above this module speaks pyoxigraph terms and results, whichever backend is in use,
so the web layer never needs to know where the data lives and never touches rdflib's evaluator.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
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


class ReadOnlyStore(OxigraphStore):
    """An on-disk (RocksDB) store opened read-only, by each process for itself.

    The data stays on disk and in the kernel's page cache, which every process shares, instead
    of a copy of the whole dataset in each process's memory. A RocksDB handle must not be used
    across fork(), so the handle is opened on first use in every process (`reopen` does it
    eagerly); a handle inherited from the parent is kept, untouched, and never closed here.
    Writes are refused: another process must not write a store opened read-only.
    """

    def __init__(self, path: Path, quads: int | None = None) -> None:
        self.path = Path(path)
        self._quads = quads
        self._handle: ox.Store | None = None
        self._pid = 0
        self._inherited: list[ox.Store] = []

    @property
    def _store(self) -> ox.Store:  # type: ignore[override]
        if self._pid != os.getpid() or self._handle is None:
            self.reopen()
        return self._handle  # type: ignore[return-value]

    def reopen(self) -> None:
        """Open this process's own handle (after fork: the parent's is left alone)."""
        if self._handle is not None:
            self._inherited.append(self._handle)
        try:
            self._handle = ox.Store.read_only(str(self.path))
        except OSError as error:
            raise StoreError(f"cannot open the store in {self.path}: {error}") from None
        self._pid = os.getpid()

    @property
    def opened(self) -> bool:
        """Whether this process has opened the store."""
        return self._handle is not None and self._pid == os.getpid()

    def update(self, sparql: str) -> None:
        raise StoreError("the store is open read-only")

    def replace(self, remove: Iterable[ox.Quad], add: Iterable[ox.Quad]) -> None:
        raise StoreError("the store is open read-only")

    def load_file(self, path: Path) -> None:
        raise StoreError("the store is open read-only")

    def __len__(self) -> int:
        # Known from the build when the store is opened, so that counting (which in this mode
        # means opening the store) never happens in a process that is about to fork.
        if self._quads is None:
            self._quads = len(self._store)
        return self._quads


STORE_STAMP = "store.json"  # beside the store: which dataset file it was loaded from


def dataset_stamp(dataset: Path) -> dict[str, int]:
    stat = dataset.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def ensure_disk_store(dataset: Path, store_dir: Path) -> int | None:
    """Make sure `store_dir` holds the quads of `dataset`; their number when it is known here.

    A store written by the build is used as it is. Otherwise (or when this function made the
    store from an older dataset file) the N-Quads file is bulk-loaded into a fresh directory in
    a separate process, which is then renamed into place, so a reader never sees a half-loaded
    store and this process's memory does not grow with the dataset.
    """
    stamp_path = store_dir.parent / STORE_STAMP
    stamp = dataset_stamp(dataset)
    if store_dir.is_dir():
        if not stamp_path.exists() or store_dir.stat().st_mtime_ns > stamp_path.stat().st_mtime_ns:
            return None  # written by the build itself (after any store made here)
        try:
            made = json.loads(stamp_path.read_text())
        except (OSError, ValueError):
            made = {}
        if made.get("dataset") == stamp:
            return made.get("quads")
    scratch = Path(tempfile.mkdtemp(prefix=".store-", dir=store_dir.parent))
    loader = ("import sys, pyoxigraph as ox\n"
              "s = ox.Store(sys.argv[1])\n"
              "s.bulk_load(path=sys.argv[2], format=ox.RdfFormat.N_QUADS)\n"
              "s.flush()\n"
              "print(len(s))\n")
    try:
        done = subprocess.run([sys.executable, "-c", loader, str(scratch), str(dataset)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StoreError(f"loading {dataset} into an on-disk store failed: "
                             f"{done.stderr.strip().splitlines()[-1:] or done.returncode}")
        quads = int(done.stdout.strip())
        if store_dir.exists():
            stale = Path(tempfile.mkdtemp(prefix=".store-old-", dir=store_dir.parent))
            store_dir.rename(stale / "store")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            scratch.rename(store_dir)
        except OSError:
            if not store_dir.is_dir():  # not another process that made it meanwhile
                raise
        tmp_stamp = stamp_path.with_suffix(".tmp")
        tmp_stamp.write_text(json.dumps({"dataset": stamp, "quads": quads}))
        tmp_stamp.replace(stamp_path)
        return quads
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


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
    user: str | None = None,
    password: str | None = None,
) -> Store:
    """The configured backend: a remote SPARQL store when `url` is given, else embedded Oxigraph."""
    if url:
        from .remote_store import RemoteStore

        return RemoteStore(url, update_url=update_url, graph_store_url=graph_store_url,
                           timeout=timeout, user=user, password=password)
    return OxigraphStore(path)
