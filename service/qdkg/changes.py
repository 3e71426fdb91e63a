"""The write pipeline: every write is worked out on a copy of the state, checked, journalled, then
applied. No Flask here.

Under the journal's exclusive lock (so writes from all processes are serialised), a write:
catches up with the journal; works out which asserted triples of qg:article it adds and removes
(a SPARQL Update runs on an in-memory copy of the dataset and is diffed; a Graph Store request
names the graph's new content); recomputes the closure and runs the shapes on what it touches
(validation.py). A violation rejects the whole write and nothing changes. Otherwise the change
set is appended to the journal (fsynced) before it is applied to this process's store in one
transaction, so a write that was acknowledged survives a crash, and a crash before the journal
record is complete leaves no trace. A dry run stops before the journal.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox
from rdflib import BNode

from .changeset import ChangeSet, apply_entry, result_record
from .closure import Diff
from .isolated import ChildCrashed, ChildFailed, ChildTimeout, run_isolated
from .journal import Journal, JournalError
from .namespaces import GRAPH_ARTICLE
from .runtime import Runtime, refresh
from .sparql_guard import inspect
from .terms import Triple, skolemize, triple_of
from .validation import Checked, checker_of, report_of

WRITABLE_GRAPH = str(GRAPH_ARTICLE)
_LOAD = re.compile(r"load", re.IGNORECASE | re.ASCII)


class WriteError(Exception):
    """A write we refuse; `kind` says why: "syntax" (400), "read-only" (403), "not-found" (404),
    "conflict" (409), "timeout" (503), "storage" (503: the journal could not be written)."""

    def __init__(self, message: str, kind: str = "syntax") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class Rejected(Exception):
    """The change would leave the graph violating its shapes; nothing was changed."""

    def __init__(self, checked: Checked, dry_run: bool) -> None:
        super().__init__("the change violates the shapes")
        self.checked = checked
        self.dry_run = dry_run


@dataclass
class Outcome:
    checked: Checked
    seq: int | None  # the change set's number once committed
    dry_run: bool
    created: bool = False  # the graph had no triples before (a Graph Store PUT answers 201)


Effect = Callable[[], tuple[list[Triple], list[Triple]]]


def commit(runtime: Runtime, who: str, operation: str, effect: Effect, *, dry_run: bool = False,
           reason: str | None = None, reverts: int | None = None) -> Outcome:
    """Work out `effect` (added, removed) on the current state, check it, and make it durable."""
    journal = runtime.journal
    if journal is None:
        raise WriteError("writes are disabled on this server", kind="read-only")
    try:
        return _commit(runtime, journal, who, operation, effect, dry_run, reason, reverts)
    except JournalError as error:  # a full disk, a read-only data directory: nothing changed
        raise WriteError(f"the change could not be recorded, so nothing was changed: {error}",
                         kind="storage") from None


def _commit(runtime: Runtime, journal: Journal, who: str, operation: str, effect: Effect,
            dry_run: bool, reason: str | None, reverts: int | None) -> Outcome:
    with journal.locked():
        refresh(runtime)
        journal.cut_torn_tail(runtime.applied)
        added, removed = effect()
        if any(isinstance(term, BNode) for triple in removed for term in triple):
            # SPARQL's DELETE DATA, the store's transactional unit, cannot name a blank node.
            raise WriteError("the change would remove triples with blank nodes, which cannot be "
                             "removed atomically; name those resources with IRIs first",
                             kind="conflict")
        created = bool(added) and not any(True for _ in _article(runtime))
        checked = checker_of(runtime).check_change(added, removed)
        if not checked.conforms:
            raise Rejected(checked, dry_run)
        if dry_run or not checked.diff:
            return Outcome(checked, None, dry_run, created)
        change = ChangeSet(
            seq=runtime.seq + 1, who=who, operation=operation, diff=checked.diff,
            when=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            results=[result_record(r) for resource in report_of(runtime, checked).resources
                     for r in resource.results],
            reason=reason, reverts=reverts,
        )
        record = change.to_record()
        try:
            end = journal.append(record)
        except JournalError:
            # Whatever part of the record reached the disk is a torn tail that readers skip;
            # cut it now if we can (otherwise the next writer or the next start does).
            with contextlib.suppress(JournalError):
                journal.cut_torn_tail(runtime.applied)
            raise
        with runtime.lock:
            apply_entry(runtime.store, record)
            runtime.applied, runtime.seq = end, change.seq
            runtime.seen = journal.version()
    return Outcome(checked, change.seq, False, created)


def _article(runtime: Runtime) -> Iterator[ox.Quad]:
    return runtime.store.quads(WRITABLE_GRAPH)


def update_effect(runtime: Runtime, sparql: str) -> Effect:
    """The asserted change a SPARQL Update makes, found by running it on a copy of the dataset.

    In the copy, as in queries, the default graph is the union of all graphs; only qg:article may
    change, so a template without GRAPH (which would write into the union) is refused.
    """
    _refuse_outbound(sparql)

    def effect() -> tuple[list[Triple], list[Triple]]:
        named = list(runtime.store.quads())
        union = {ox.Quad(q.subject, q.predicate, q.object) for q in named}
        before = set(named) | union
        gained, lost = _evaluate_apart(before, sparql, runtime.config.query_timeout)
        changed = {q.graph_name for q in gained | lost}
        others = sorted(g.value for g in changed
                        if isinstance(g, ox.NamedNode) and g.value != WRITABLE_GRAPH)
        if others:
            raise WriteError(read_only_message(others[0]), kind="read-only")
        if ox.DefaultGraph() in changed:
            raise WriteError(
                "the default graph is the read-only union of all graphs; say which graph to "
                f"change, e.g. INSERT DATA {{ GRAPH <{WRITABLE_GRAPH}> {{ … }} }}")
        target = ox.NamedNode(WRITABLE_GRAPH)
        added = [q for q in gained if q.graph_name == target]
        removed = [q for q in lost if q.graph_name == target]
        fresh, _ = skolemize([triple_of(q) for q in added])
        return fresh, [triple_of(q) for q in removed]

    return effect


def _evaluate_apart(before: set[ox.Quad], sparql: str,
                    timeout: float) -> tuple[set[ox.Quad], set[ox.Quad]]:
    """The quads the update adds and removes, worked out on a copy in a child process.

    The engine recurses once per level of nesting (and per operation chained), and overflows
    its stack, killing the process, a few thousand levels down; a runaway WHERE clause would
    hold the write lock. In a child, either costs the child.
    """

    def apply() -> tuple[set[ox.Quad], set[ox.Quad]]:
        copy = ox.Store()
        copy.extend(before)
        copy.update(sparql)
        after = set(copy.quads_for_pattern(None, None, None, None))
        return after - before, before - after

    try:
        return run_isolated(apply, timeout)
    except ChildFailed as failed:
        if isinstance(failed.error, SyntaxError):
            raise WriteError(f"SPARQL Update syntax error: {failed.error}") from None
        if isinstance(failed.error, (OSError, ValueError)):
            raise WriteError(f"the update could not be applied: {failed.error}") from None
        raise failed.error from None
    except ChildCrashed as crashed:
        raise WriteError(
            f"the update could not be evaluated: the SPARQL engine stopped on it ({crashed.how}), "
            "as it does when groups or expressions nest, or operations follow one another, "
            "thousands deep; simplify the update or split it; nothing was changed") from None
    except ChildTimeout:
        raise WriteError(
            f"the update did not finish within the {timeout:g}-second time limit and was "
            "stopped; nothing was changed. Narrow its WHERE clause, or split it",
            kind="timeout") from None


def graph_effect(runtime: Runtime, graph: str, method: str, triples: list[Triple]) -> Effect:
    """The asserted change of a Graph Store Protocol PUT, POST or DELETE on `graph`."""
    if graph != WRITABLE_GRAPH:
        raise WriteError(read_only_message(graph), kind="read-only")

    def effect() -> tuple[list[Triple], list[Triple]]:
        if method == "POST":  # adds only: the graph's current content is not needed
            return triples, []
        current = [triple_of(q) for q in runtime.store.quads(WRITABLE_GRAPH)]
        if method == "DELETE":
            return [], current
        wanted = set(triples)
        return triples, [t for t in current if t not in wanted]

    return effect


def revert_effect(runtime: Runtime, seq: int) -> Effect:
    """The inverse of change set `seq`, against the current state."""
    journal = runtime.journal
    record = None if journal is None else next(
        (e.record for e in journal.read() if e.seq == seq), None)
    if record is None:
        raise WriteError(f"there is no change set {seq}", kind="not-found")
    inverse: Diff = ChangeSet.from_record(record).diff.inverse()

    def effect() -> tuple[list[Triple], list[Triple]]:
        return inverse.asserted_added, inverse.asserted_removed

    return effect


def read_only_message(graph: str) -> str:
    return (f"graph <{graph}> is read-only: only <{WRITABLE_GRAPH}> (the curated facts) can be "
            "written; the ontology and shapes are curated in git, qg:inferred is computed from "
            "the facts, and the change graphs are the record of accepted changes")


def _refuse_outbound(sparql: str) -> None:
    """The service never fetches data because of a request: no LOAD, no SERVICE."""
    if inspect(sparql).services:
        raise WriteError("SERVICE is not allowed in updates: this server makes no outbound calls")
    if _LOAD.search(sparql) and _has_load(sparql):
        raise WriteError("LOAD is not allowed: this server never fetches data because of a "
                         "request; send the data itself (INSERT DATA, or PUT/POST to /store)")


def _has_load(sparql: str) -> bool:
    """Whether the update has a LOAD operation, read with a full parser (the word may just be
    inside a string). An update the parser cannot read is treated as if it had one."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        parsed = parseUpdate(sparql)
    except ParseException:
        return True
    except RecursionError:
        raise WriteError("the update mentions LOAD and nests too deeply for it to be checked; "
                         "nest groups and expressions less deeply") from None
    return any(getattr(op, "name", None) == "Load" for op in parsed.get("request") or [])
