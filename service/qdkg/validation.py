"""Validating a submission or a change in the context of the stored graph; no Flask here.

A change is checked against the stored article graph and ontology with the OWL RL closure
applied (closure.py), then with the shapes (pySHACL), but only on the nodes it touches: the
subjects and objects of its asserted triples and the subjects of the inferred triples it adds
or takes away. Results on nodes touched only through inference are reported when they are new
(they did not hold before the change), so a warning already present on, say, Qingdao does not
reappear in every report that adds a project somewhere in Qingdao.
"""

from __future__ import annotations

import ctypes
import json
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from .build import BuildError, PreparedQueryGraph, Validation
from .closure import (
    STATE_GRAPHS,
    Diff,
    Ontology,
    bounded,
    describe,
    incoming,
    inferences_of_additions,
    inferences_of_change,
    objects_of,
    shape_inverse_paths,
    stored,
    vocabulary,
)
from .namespaces import GRAPH_ARTICLE, GRAPH_ONTOLOGY, GRAPH_SHAPES
from .report import Report, build_report, labels_from, nodes_to_label
from .runtime import Runtime, open_runtime, refresh
from .store import Store
from .submission import Submission, SubmissionError, media_type_for, parse
from .terms import Triple, graph_of


@dataclass
class Checked:
    """The outcome of checking a change: what it does, and the report on what it touches."""

    diff: Diff
    validation: Validation
    data: Graph  # the slice the shapes saw: labels for the report come from here first
    blank_labels: dict[URIRef, str] = field(default_factory=dict)

    @property
    def conforms(self) -> bool:
        return self.validation.conforms


class View:
    """The stored state, or the stored state with a diff applied, read node by node."""

    def __init__(self, store: Store, diff: Diff | None = None) -> None:
        self.store = store
        self.gone: set[Triple] = set()
        self.new: list[Triple] = []
        if diff is not None:
            self.gone = set(diff.asserted_removed) | set(diff.inferred_removed)
            self.gone -= set(diff.asserted_added)
            self.new = [*diff.asserted_added, *diff.inferred_added]

    def describe(self, nodes: set[Node]) -> list[Triple]:
        found = [t for t in describe(self.store, nodes) if t not in self.gone]
        return found + [t for t in self.new if t[0] in nodes]

    def incoming(self, nodes: set[Node], predicates: set[Node]) -> list[Triple]:
        found = [t for t in incoming(self.store, nodes, predicates) if t not in self.gone]
        return found + [t for t in self.new if t[2] in nodes and t[1] in predicates]


class Checker:
    """The shapes and ontology of one store, loaded once; checks changes against that store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.ontology = Ontology(graph_of(store.quads(str(GRAPH_ONTOLOGY))))
        self.shapes = graph_of(store.quads(str(GRAPH_SHAPES)))
        self.inverse_paths = shape_inverse_paths(self.shapes)

    def check_additions(self, triples: Iterable[Triple],
                        blank_labels: dict[URIRef, str] | None = None) -> Checked:
        """Adding `triples` to the article graph."""
        return self.check_change(triples, [], blank_labels)

    def check_change(self, added: Iterable[Triple], removed: Iterable[Triple],
                     blank_labels: dict[URIRef, str] | None = None) -> Checked:
        """A change to the article graph: what it does to the asserted and inferred triples,
        and the shapes' report on what it touches. Triples already there are not added again,
        triples not there are not removed."""
        added, removed = list(dict.fromkeys(added)), list(dict.fromkeys(removed))
        in_article = stored(self.store, [*added, *removed], graphs=(str(GRAPH_ARTICLE),))
        removed = [t for t in removed if t in in_article and t not in set(added)]
        added = [t for t in added if t not in in_article]
        if not removed:
            diff = inferences_of_additions(self.store, self.ontology, added)
        else:
            diff = inferences_of_change(self.store, self.ontology, added, removed)
        return self._validate(diff, blank_labels or {})

    def _validate(self, diff: Diff, blank_labels: dict[URIRef, str]) -> Checked:
        direct = diff.asserted_nodes()
        indirect = diff.touched() - direct
        after = self._slice(View(self.store, diff), direct | indirect)
        validation = self._shacl(after, direct | indirect)
        if indirect:
            before = self._shacl(self._slice(View(self.store), indirect), indirect)
            known = {_key(before.report, r) for r in before.results()}
            keep: set[Node] = {
                r for r in validation.results()
                if validation.report.value(r, SH.focusNode) in direct
                or _key(validation.report, r) not in known
            }
            validation = _restrict(validation, keep)
        return Checked(diff, validation, after, blank_labels)

    def _slice(self, view: View, focus: set[Node]) -> Graph:
        """The focus nodes in full, and two more hops of context around them, bounded."""
        data = PreparedQueryGraph()
        own = view.describe(focus) + view.incoming(focus, self.inverse_paths)
        hop2 = objects_of(bounded(own)) - focus
        second = bounded(view.describe(hop2))
        hop3 = objects_of(second) - focus - hop2
        third = bounded(view.describe(hop3))
        for t in (*own, *second, *third):
            data.add(t)
        data += self.ontology.axioms_for(vocabulary(data))
        return data

    def _shacl(self, data: Graph, focus: set[Node]) -> Validation:
        """Validate the whole slice, keep the results on `focus`.

        pySHACL's own `focus_nodes` option also filters the value nodes of nested shapes
        (sh:qualifiedValueShape, sh:or), which makes it report false violations, so the
        context nodes are validated too and their results dropped.
        """
        _, report, text = pyshacl.validate(
            data, shacl_graph=self.shapes, inference="none", abort_on_first=False,
            allow_warnings=True, inplace=True)
        validation = Validation(conforms=False, report=report, text=text)
        keep: set[Node] = {r for r in validation.results()
                           if report.value(r, SH.focusNode) in focus}
        return _restrict(validation, keep)


def _key(report: Graph, result: Node) -> tuple:
    return tuple(report.value(result, p) for p in (SH.focusNode, SH.resultPath, SH.sourceShape,
                                                  SH.sourceConstraintComponent, SH.value))


def _restrict(validation: Validation, keep: set[Node]) -> Validation:
    """A copy of the report with only the results in `keep` (and what hangs off them)."""
    report = Graph()
    for prefix, namespace in validation.report.namespaces():
        report.bind(prefix, namespace)
    root = validation.report.value(None, RDF.type, SH.ValidationReport) or BNode()
    for result in keep:
        report.add((root, SH.result, result))
        _copy_tree(validation.report, report, result)
    report.add((root, RDF.type, SH.ValidationReport))
    violations = sum(1 for r in keep if (r, SH.resultSeverity, SH.Violation) in validation.report)
    report.add((root, SH.conforms, Literal(violations == 0)))
    return Validation(violations == 0, report, validation.text)


def _copy_tree(source: Graph, target: Graph, node: Node) -> None:
    for s, p, o in source.triples((node, None, None)):
        target.add((s, p, o))
        if isinstance(o, BNode):
            _copy_tree(source, target, o)


def checker_of(runtime: Runtime) -> Checker:
    """The runtime's checker, made on first use (the ontology and shapes never change at run
    time: writes to their graphs are refused)."""
    checker = runtime.cache.get("checker")
    if checker is None:
        checker = runtime.cache["checker"] = Checker(runtime.store)
    return checker  # type: ignore[return-value]


def report_of(runtime: Runtime, checked: Checked) -> Report:
    """The readable report: labels from the slice, the ontology, the shapes, then the store."""
    checker = checker_of(runtime)
    report = checked.validation.report
    wanted = nodes_to_label(report)
    for shape in report.objects(None, SH.sourceShape):
        for key in ("class", "datatype", "hasValue", "lessThan"):
            wanted.update(checker.shapes.objects(shape, SH[key]))
        for alternatives in checker.shapes.objects(shape, SH["or"]):
            for alternative in Collection(checker.shapes, alternatives):
                wanted.update(checker.shapes.objects(alternative, SH["class"]))
    graphs = [checked.data, checker.ontology.graph, checker.shapes]
    labels = labels_from(graphs, wanted)
    missing = [n for n in wanted if n not in labels and isinstance(n, URIRef)]
    if missing:
        labels.update(labels_from([graph_of(describe(
            runtime.store, missing, graphs=STATE_GRAPHS, predicates={RDFS.label}))], missing))
    iris = [n for n in wanted if isinstance(n, URIRef)]
    stored = {s for s, _, _ in describe(runtime.store, iris, predicates={RDF.type})}
    return build_report(report, checker.shapes, labels, checked.blank_labels, stored)


def validate_submission(runtime: Runtime, submission: Submission) -> tuple[Checked, Report]:
    """/validate and `qdkg validate`: the submission as if added to the article graph."""
    refresh(runtime)
    checked = checker_of(runtime).check_additions(submission.triples, submission.blank_labels)
    return checked, report_of(runtime, checked)


class ValidationTimeout(Exception):
    """A validation ran past its time limit and was stopped; nothing was changed."""

    def __init__(self, limit: float) -> None:
        super().__init__(f"the validation did not finish within {limit:g} s")
        self.limit = limit


class _Expired(BaseException):
    """Raised inside the thread whose time is up (a BaseException: no `except Exception` in
    pySHACL or rdflib may swallow it)."""


T = TypeVar("T")


def within(seconds: float, work: Callable[[], T]) -> T:
    """`work()`, stopped with ValidationTimeout once `seconds` have passed.

    A timer raises an exception in the calling thread (CPython's PyThreadState_SetAsyncExc),
    which takes effect at the next Python instruction, so the work stops between two steps of
    pySHACL, rdflib or the store; one store query is not cut short, and validation's queries
    are bounded (a few milliseconds each). Unlike a child process, this costs nothing when
    the time is not up, and the work keeps this process's caches (parsed SHACL queries, the
    checker). Only for work that changes no shared state: an exception may land anywhere in it.
    """
    target = threading.get_ident()
    guard = threading.Lock()
    state = {"armed": True, "fired": False}

    def expire() -> None:
        with guard:
            if state["armed"]:
                state["fired"] = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target),
                                                           ctypes.py_object(_Expired))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    try:
        try:
            timer.start()
            return work()
        finally:
            with guard:
                state["armed"] = False
            timer.cancel()
    except _Expired:
        raise ValidationTimeout(seconds) from None
    finally:
        if state["fired"]:  # delivered or not, no exception may stay pending for this thread
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), None)


def validate_within(runtime: Runtime, submission: Submission,
                    seconds: float) -> tuple[Checked, Report]:
    """`validate_submission`, stopped with ValidationTimeout after `seconds`."""
    refresh(runtime)
    checker_of(runtime)  # made outside the time limit: it is kept for every later request
    return within(seconds, lambda: validate_submission(runtime, submission))


def report_graph(checked: Checked) -> Graph:
    """The sh:ValidationReport to serialise, with submitted blank nodes given back as such."""
    if not checked.blank_labels:
        return checked.validation.report
    back: dict[Node, Node] = {iri: BNode(label) for iri, label in checked.blank_labels.items()}
    graph = Graph()
    for prefix, namespace in checked.validation.report.namespaces():
        graph.bind(prefix, namespace)
    for s, p, o in checked.validation.report:
        graph.add((back.get(s, s), p, back.get(o, o)))
    return graph


def cli_validate(files: list[str], output_format: str = "text", language: str = "en") -> int:
    """`qdkg validate FILE...`: 0 conforms, 1 violations, 2 unusable input."""
    from .config import Config
    from .namespaces import BASE

    triples: list[Triple] = []
    labels: dict[URIRef, str] = {}
    for name in files:
        path = Path(name)
        try:
            submission = parse(path.read_bytes(), media_type_for(path), BASE + "id/", str(path))
        except OSError as error:
            print(f"{path}: cannot read: {error.strerror or error}", file=sys.stderr)
            return 2
        except SubmissionError as error:
            print(error.message, file=sys.stderr)
            return 2
        triples += submission.triples
        labels.update(submission.blank_labels)
    try:
        # The stored state, with the journal of --data-dir (QDKG_DATA_DIR) replayed if there is one.
        runtime = open_runtime(Config.from_env(write_tokens={}))
    except BuildError as error:
        print(f"cannot load the stored graph to validate against: {error}", file=sys.stderr)
        return 2
    checked, report = validate_submission(runtime, Submission(triples, labels))
    if output_format == "json":
        print(json.dumps(report.to_json(language), ensure_ascii=False, indent=2))
    elif output_format == "turtle":
        print(report_graph(checked).serialize(format="turtle"))
    else:
        print(report.to_text(language), end="")
    return 0 if report.conforms else 1
