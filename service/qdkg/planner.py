"""Join ordering for the embedded store: the order Oxigraph evaluates a group's patterns in,
chosen from the data's statistics and pinned with LATERAL.

Oxigraph's optimiser orders joins with fixed guesses, not statistics: a property path counts
as a thousand times a triple pattern, so `?p qdkg:locatedIn+ <district>` (a hundred rows,
found in well under a millisecond from the district) is joined last, and evaluated once for
every row of `?p a ?kind` (tens of thousands) instead. This module reads the query's WHERE
clause, estimates each pattern's rows and cost from the build's per-predicate and per-class
counts (stats.json) and, for a pattern with a constant at one end, from the store's own count
of its matches; it finds the cheapest left-deep order (dynamic programming over the patterns
of a group, within `MAX_STATES`) and writes it back as `{ first } LATERAL { second } ...`,
which Oxigraph evaluates in that order, the right side once per row of the left. The patterns
of an OPTIONAL are ordered the same way when running them once per row is estimated cheaper
than running them once and joining (Oxigraph's choice for a group of several patterns).

The rewrite changes only the order of evaluation, never the answer:

- Only the leading run of a group's join operands is reordered: triple and path patterns, and
  groups or UNIONs made only of those. What follows the first OPTIONAL, MINUS, BIND, VALUES,
  GRAPH, SERVICE, LATERAL or subquery keeps its place, and the FILTERs stay in the same group
  (a filter applies to its whole group wherever it is written).
- For such patterns, LATERAL and a join give the same solutions. A FILTER inside a nested group
  could see the outer bindings under LATERAL where a join would not, so a nested group is only
  moved when each of its filters uses variables its own patterns always bind.
- Every piece of the rewritten query is a slice of the original text, so IRIs, prefixed names,
  literals and expressions are exactly what the client wrote. Anything the reader does not
  follow (blank nodes, collections, quoted triples, a CONSTRUCT WHERE short form) leaves that
  group, or the query, as written.

The store evaluates the original query when planning fails or its text does not parse.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from .sparql_guard import Names, Token
from .sparql_guard import tokenize as lex

STATS_FILE = "stats.json"
# The search over orders visits at most this many sets of patterns (only sets that are
# connected by shared variables, where there are such); beyond, a greedy order.
MAX_STATES = 2048
_CACHE_SIZE = 512
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
# How far a transitive path is assumed to reach, as a multiple of its one-step fan-out.
_DEPTH = 3.0
_CHECK_FLOOR = 0.1

_BOUNDARIES = {"OPTIONAL", "MINUS", "BIND", "VALUES", "GRAPH", "SERVICE", "LATERAL"}


class Unsupported(Exception):
    """A construct the planner does not read; the group (or query) is left as written."""


def tokenize(text: str) -> list[Token]:
    """The query's tokens, by the endpoint's own lexer (sparql_guard), with their places."""
    tokens, ambiguous = lex(text)
    if ambiguous:  # `<` inside parentheses that may start an IRI or compare: not guessed at
        raise Unsupported("an IRI border that reads two ways")
    return tokens


# ---------------------------------------------------------------------------------------------
# Statistics


@dataclass
class Statistics:
    """Counts the estimates are made from: triples per predicate with their distinct subjects
    and objects, instances per class, and the total."""

    total: int = 0
    predicates: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of_store(cls, store: ox.Store) -> Statistics:
        predicates = {}
        for row in store.query(
            "SELECT ?p (COUNT(*) AS ?n) (COUNT(DISTINCT ?s) AS ?ds) (COUNT(DISTINCT ?o) AS ?do)"
            " WHERE { ?s ?p ?o } GROUP BY ?p", use_default_graph_as_union=True
        ):  # type: ignore[union-attr]
            predicates[row["p"].value] = (int(row["n"].value), int(row["ds"].value),
                                          int(row["do"].value))
        classes = {
            row["c"].value: int(row["n"].value)
            for row in store.query(  # type: ignore[union-attr]
                f"SELECT ?c (COUNT(*) AS ?n) WHERE {{ ?s <{RDF_TYPE}> ?c }} GROUP BY ?c",
                use_default_graph_as_union=True)
            if isinstance(row["c"], ox.NamedNode)
        }
        return cls(sum(n for n, _, _ in predicates.values()), predicates, classes)

    def to_json(self) -> str:
        return json.dumps({"total": self.total, "predicates": self.predicates,
                           "classes": self.classes}, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Statistics:
        data = json.loads(text)
        return cls(int(data["total"]),
                   {p: (int(n), int(s), int(o)) for p, (n, s, o) in data["predicates"].items()},
                   {c: int(n) for c, n in data["classes"].items()})

    @classmethod
    def load(cls, path: Path) -> Statistics | None:
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # Estimates ---------------------------------------------------------------------------

    def predicate(self, iri: str | None) -> tuple[float, float, float]:
        if iri is None:  # a variable predicate: every triple
            return float(max(self.total, 1)), max(self.total / 10.0, 1.0), max(self.total / 1000.0, 1.0)
        n, ds, do = self.predicates.get(iri, (0, 0, 0))
        return float(n), float(max(ds, 1)), float(max(do, 1))

    def link(self, iri: str | None, s_bound: bool, o_bound: bool,
             o_iri: str | None) -> tuple[float, float]:
        """(rows, cost) of one triple pattern, given which ends are bound."""
        n, ds, do = self.predicate(iri)
        if n == 0:
            return 0.0, 1.0
        if iri == RDF_TYPE and o_iri is not None:
            instances = float(self.classes.get(o_iri, 0))
            if s_bound:
                return _check(instances / ds), 1.0
            return instances, 1.0 + instances
        if s_bound and o_bound:
            return _check(n / ds / do), 1.0
        if s_bound:
            return n / ds, 1.0 + n / ds
        if o_bound:
            return n / do, 1.0 + n / do
        return n, n


def _check(selectivity: float) -> float:
    """The share of rows a pattern with both ends bound keeps. Counts over the whole graph
    make it tiny (a random subject is rarely a district), but the rows that reach such a
    check were found through related patterns and pass it far more often; so never below
    `_CHECK_FLOOR`, lest an OPTIONAL after it be thought to run on almost no rows."""
    return min(1.0, max(selectivity, _CHECK_FLOOR))


# ---------------------------------------------------------------------------------------------
# Syntax: what the planner reads of a query


@dataclass
class Term:
    text: str
    var: str | None = None  # the variable's name, for a variable
    iri: str | None = None  # the full IRI, for an IRI or a prefixed name


@dataclass
class PathExpr:
    op: str  # link | inv | seq | alt | + | * | ? | nps
    iri: str | None = None
    parts: list[PathExpr] = field(default_factory=list)


@dataclass
class Triple:
    subject: Term
    path: PathExpr
    object: Term
    verb_text: str
    predicate_var: str | None = None

    @property
    def vars(self) -> set[str]:
        out = {t.var for t in (self.subject, self.object) if t.var}
        if self.predicate_var:
            out.add(self.predicate_var)
        return out

    @property
    def text(self) -> str:
        return f"{self.subject.text} {self.verb_text} {self.object.text} ."


@dataclass
class Filter:
    text: str
    vars: set[str]
    exists: bool


@dataclass
class Values:
    """An inline VALUES block: joined like a pattern, with as many rows as it lists."""

    text: str
    vars: set[str]
    certain: set[str]  # the variables no row leaves UNDEF
    rows: int


@dataclass
class Nested:
    """One `{ ... }` group, or several joined by UNION."""

    branches: list[Group]


@dataclass
class Boundary:
    """OPTIONAL, MINUS, GRAPH (with a group the planner also orders), or anything kept as
    written (BIND, VALUES, SERVICE, LATERAL, subqueries)."""

    head: str
    group: Group | None = None


@dataclass
class Group:
    text: str  # as written, braces included
    elements: list = field(default_factory=list)
    readable: bool = True  # False: the planner could not read it; it is kept as written


class _Reader:
    def __init__(self, text: str, tokens: list[Token], names: Names):
        self.text, self.tokens, self.names = text, tokens, names

    def slice(self, first: int, last: int) -> str:
        """The original text from token `first` to token `last` (both included)."""
        return self.text[self.tokens[first].start:self.tokens[last].end]

    def closing(self, i: int) -> int:
        """The index of the token closing the bracket at `i`."""
        pairs = {"{": "}", "(": ")", "[": "]"}
        stack = [pairs[self.tokens[i].text]]
        j = i + 1
        while j < len(self.tokens):
            t = self.tokens[j]
            if t.kind == "punct" and t.text in pairs:
                stack.append(pairs[t.text])
            elif t.kind == "punct" and t.text in ("}", ")", "]"):
                if t.text != stack.pop():
                    raise Unsupported("unbalanced brackets")
                if not stack:
                    return j
            j += 1
        raise Unsupported("unbalanced brackets")

    # Groups ------------------------------------------------------------------------------

    def group(self, i: int) -> tuple[Group, int]:
        """The group opening at token `i`; returns it and the index after its `}`."""
        end = self.closing(i)
        text = self.slice(i, end)
        try:
            elements = self.elements(i + 1, end)
        except Unsupported:
            return Group(text, [], readable=False), end + 1
        return Group(text, elements), end + 1

    def elements(self, i: int, end: int) -> list:
        out: list = []
        while i < end:
            t = self.tokens[i]
            word = t.upper
            if t.kind == "punct" and t.text == ".":
                i += 1
            elif word == "FILTER":
                i = self.filter(i, out)
            elif word in ("OPTIONAL", "MINUS"):
                g, i = self.group(self.expect_brace(i + 1))
                out.append(Boundary(t.text, g))
            elif word == "GRAPH":
                name = self.tokens[i + 1]
                if name.kind not in ("var", "iri", "pname"):
                    raise Unsupported("GRAPH name")
                g, i = self.group(self.expect_brace(i + 2))
                out.append(Boundary(f"{t.text} {name.text}", g))
            elif word == "VALUES":
                i = self.values(i, end, out)
            elif word in ("BIND", "SERVICE", "LATERAL"):
                j = i + 1
                while j < end and not (self.tokens[j].kind == "punct" and self.tokens[j].text in "{("):
                    j += 1
                if j >= end:
                    raise Unsupported(word)
                last = self.closing(j)
                out.append(Boundary(self.slice(i, last)))
                i = last + 1
            elif t.kind == "punct" and t.text == "{":
                if self.tokens[i + 1].upper == "SELECT":
                    last = self.closing(i)
                    out.append(Boundary(self.slice(i, last)))
                    i = last + 1
                    continue
                branches = []
                g, i = self.group(i)
                branches.append(g)
                while i < end and self.tokens[i].upper == "UNION":
                    g, i = self.group(self.expect_brace(i + 1))
                    branches.append(g)
                out.append(Nested(branches))
            elif t.kind in ("var", "iri", "pname", "string", "number") or word in ("TRUE", "FALSE"):
                i = self.triples(i, end, out)
            else:
                raise Unsupported(f"{t.text!r} in a group")
        return out

    def values(self, i: int, end: int, out: list) -> int:
        j = i + 1
        if self.tokens[j].text == "(":
            names = [t.text[1:] for t in self.tokens[j + 1:self.closing(j)]]
            j = self.closing(j) + 1
        else:
            names = [self.tokens[j].text[1:]] if self.tokens[j].kind == "var" else []
            j += 1
        if not names:
            raise Unsupported("VALUES")
        last = self.closing(self.expect_brace(j))
        body = self.tokens[j + 1:last]
        if len(names) > 1:
            rows = sum(1 for t in body if t.text == "(")
        else:  # a term is a token that is not a language tag, ^^ or the datatype after it
            rows = sum(1 for k, t in enumerate(body) if t.kind not in ("langtag", "punct")
                       and not (k and body[k - 1].text == "^^"))
        undef = any(t.upper == "UNDEF" for t in body)
        out.append(Values(self.slice(i, last), set(names), set() if undef else set(names), rows))
        return last + 1

    def expect_brace(self, i: int) -> int:
        if i >= len(self.tokens) or self.tokens[i].text != "{":
            raise Unsupported("a group was expected")
        return i

    def filter(self, i: int, out: list) -> int:
        j = i + 1
        exists = False
        while self.tokens[j].upper in ("NOT", "EXISTS"):
            exists = True
            j += 1
        if exists:
            last = self.closing(self.expect_brace(j))
        else:
            while self.tokens[j].kind != "punct" or self.tokens[j].text != "(":
                if self.tokens[j].kind not in ("word", "pname", "iri"):
                    raise Unsupported("FILTER")
                j += 1
            last = self.closing(j)
        inside = self.tokens[i:last + 1]
        out.append(Filter(self.slice(i, last), {t.text[1:] for t in inside if t.kind == "var"},
                          any(t.upper == "EXISTS" for t in inside)))
        return last + 1

    # Triples -----------------------------------------------------------------------------

    def term(self, i: int) -> tuple[Term, int]:
        t = self.tokens[i]
        if t.kind == "var":
            return Term(t.text, var=t.text[1:]), i + 1
        if t.kind in ("iri", "pname"):
            return Term(t.text, iri=self.names.iri(t)), i + 1
        if t.kind == "number" or t.upper in ("TRUE", "FALSE"):
            return Term(t.text), i + 1
        if t.text in ("+", "-") and self.tokens[i + 1].kind == "number" \
                and self.tokens[i + 1].start == t.end:
            return Term(self.slice(i, i + 1)), i + 2
        if t.kind == "string":
            last = i
            nxt = self.tokens[i + 1] if i + 1 < len(self.tokens) else None
            if nxt is not None and nxt.kind == "langtag":
                last = i + 1
            elif nxt is not None and nxt.text == "^^":
                if self.tokens[i + 2].kind not in ("iri", "pname"):
                    raise Unsupported("datatype")
                last = i + 2
            return Term(self.slice(i, last)), last + 1
        raise Unsupported(f"{t.text!r} as a term")

    def triples(self, i: int, end: int, out: list) -> int:
        subject, i = self.term(i)
        while True:
            verb_start = i
            predicate_var = None
            if self.tokens[i].kind == "var":
                path, predicate_var, i = PathExpr("link"), self.tokens[i].text[1:], i + 1
            else:
                path, i = self.path_alt(i)
            verb_text = self.slice(verb_start, i - 1)
            while True:
                obj, i = self.term(i)
                out.append(Triple(subject, path, obj, verb_text, predicate_var))
                if i < end and self.tokens[i].text == ",":
                    i += 1
                    continue
                break
            if i < end and self.tokens[i].text == ";":
                while i < end and self.tokens[i].text == ";":
                    i += 1
                if i < end and self.tokens[i].text not in (".", "}") \
                        and self.tokens[i].upper not in _BOUNDARIES | {"FILTER"}:
                    continue
            return i

    def path_alt(self, i: int) -> tuple[PathExpr, int]:
        return self._path_list(i, "|", self.path_seq, "alt")

    def path_seq(self, i: int) -> tuple[PathExpr, int]:
        return self._path_list(i, "/", self.path_elt, "seq")

    def _path_list(self, i: int, separator: str, part, op: str) -> tuple[PathExpr, int]:
        """One or more `part`s between `separator`s: the one, or them under `op`."""
        p, i = part(i)
        parts = [p]
        while self.tokens[i].text == separator:
            p, i = part(i + 1)
            parts.append(p)
        return (parts[0] if len(parts) == 1 else PathExpr(op, parts=parts)), i

    def path_elt(self, i: int) -> tuple[PathExpr, int]:
        inverse = self.tokens[i].text == "^"
        if inverse:
            i += 1
        t = self.tokens[i]
        if t.text == "(":
            p, i = self.path_alt(i + 1)
            if self.tokens[i].text != ")":
                raise Unsupported("path")
            i += 1
        elif t.text == "!":
            last = self.closing(i + 1) if self.tokens[i + 1].text == "(" else i + 1
            p, i = PathExpr("nps"), last + 1
        elif t.kind in ("iri", "pname"):
            p, i = PathExpr("link", self.names.iri(t)), i + 1
        elif t.kind == "word" and t.text == "a":
            p, i = PathExpr("link", RDF_TYPE), i + 1
        else:
            raise Unsupported(f"{t.text!r} in a path")
        if self.tokens[i].kind == "punct" and self.tokens[i].text in ("*", "+", "?"):
            p, i = PathExpr(self.tokens[i].text, parts=[p]), i + 1
        return (PathExpr("inv", parts=[p]) if inverse else p), i


def _prologue(tokens: list[Token]) -> tuple[Names, int]:
    """The PREFIX and BASE declarations, and the index of the first token after them."""
    names, i = Names(), 0
    while i < len(tokens) and (taken := names.declare(tokens, i)):
        i += taken
    return names, i


def _where(tokens: list[Token], start: int, reader: _Reader) -> int | None:
    """The index of the `{` opening the query's WHERE clause (None for anything else)."""
    form = tokens[start].upper if start < len(tokens) else ""
    if form not in ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK"):
        return None
    i = start + 1
    if form == "CONSTRUCT":
        if i >= len(tokens) or tokens[i].text != "{":
            return None  # CONSTRUCT WHERE { ... }: the template is the pattern
        i = reader.closing(i) + 1
    while i < len(tokens):
        if tokens[i].kind == "punct" and tokens[i].text == "{":
            return i
        if tokens[i].kind == "punct" and tokens[i].text == "(":
            i = reader.closing(i) + 1
            continue
        i += 1
    return None


# ---------------------------------------------------------------------------------------------
# Estimates and the order


class _Planner:
    def __init__(self, stats: Statistics, count=None, prologue: str = ""):
        self.stats = stats
        self.count = count  # (SPARQL COUNT query) -> number, or None
        self.prologue = prologue

    def probe(self, op: Triple) -> float | None:
        """The exact number of matches of a pattern with a constant at one end, counted by
        the store (a lookup from that constant; cached by the caller)."""
        if self.count is None:
            return None
        query = (f"{self.prologue}SELECT (COUNT(*) AS ?n) WHERE {{ {op.subject.text} "
                 f"{op.verb_text} {op.object.text} }}")
        return self.count(query)

    def path(self, p: PathExpr, s_bound: bool, o_bound: bool, o_iri: str | None) -> tuple[float, float]:
        st = self.stats
        if p.op == "link":
            return st.link(p.iri, s_bound, o_bound, o_iri)
        if p.op == "nps":
            return st.link(None, s_bound, o_bound, None)
        if p.op == "inv":
            return self.path(p.parts[0], o_bound, s_bound, None)
        if p.op == "alt":
            rows = cost = 0.0
            for part in p.parts:
                r, c = self.path(part, s_bound, o_bound, o_iri)
                rows, cost = rows + r, cost + c
            return rows, cost
        if p.op == "seq":
            forward = self._chain(p.parts, s_bound, o_bound)
            if o_bound and not s_bound:
                backward = self._chain([PathExpr("inv", parts=[x]) for x in reversed(p.parts)],
                                       True, False)
                return min(forward, backward, key=lambda rc: rc[1])
            return forward
        inner = p.parts[0]
        if s_bound and o_bound:  # walk from the subject until the object is met
            reach, _ = self.path(inner, True, False, None)
            return 1.0, 1.0 + _DEPTH * reach
        fan, cost = self.path(inner, s_bound, o_bound, None)
        if p.op == "?":
            return fan + 1.0, cost + 1.0
        if s_bound or o_bound:
            reach = _DEPTH * fan + (1.0 if p.op == "*" else 0.0)
            return reach, 1.0 + reach
        return _DEPTH * fan, _DEPTH * cost

    def _chain(self, parts: list[PathExpr], s_bound: bool, o_bound: bool) -> tuple[float, float]:
        rows, cost = 1.0, 0.0
        for k, part in enumerate(parts):
            last = k == len(parts) - 1
            r, c = self.path(part, s_bound or k > 0, o_bound and last, None)
            cost += rows * c
            rows *= r
        return rows, cost

    def estimate(self, op, bound: frozenset[str]) -> tuple[float, float]:
        if isinstance(op, Triple):
            s = op.subject.var is None or op.subject.var in bound
            o = op.object.var is None or op.object.var in bound
            constant_end = (op.subject.var is None) != (op.object.var is None)
            typed = op.path.op == "link" and op.path.iri == RDF_TYPE and op.object.iri is not None
            if constant_end and op.predicate_var is None and not typed:  # classes are counted
                rows = self.probe(op)
                if rows is not None and not op.vars & bound:
                    return float(rows), 1.0 + rows
                if rows is not None and op.path.op == "link" and op.path.iri is not None:
                    # The other end is bound: the share of its possible values that match.
                    n, ds, do = self.stats.predicate(op.path.iri)
                    return _check(rows / (ds if op.object.var is None else do)), 1.0
            if op.predicate_var is not None and op.predicate_var not in bound:
                return self.stats.link(None, s, o, None)
            return self.path(op.path, s, o, op.object.iri if op.object.var is None else None)
        if isinstance(op, Values):
            if op.vars & bound:  # a check of the bound values against the list
                return _check(1.0 / max(op.rows, 1)), 1.0
            return float(op.rows), 1.0 + op.rows
        rows = cost = 0.0
        for branch in op.branches:
            _, c, r = self.order(_operands(branch), bound)
            rows, cost = rows + r, cost + c
        return rows, cost

    def order(self, ops: list, bound: frozenset[str]) -> tuple[list[int], float, float]:
        """The cheapest left-deep order of `ops`: (indices, cost, rows). Dynamic programming
        over the sets of operands (variables as bits), growing each set only by operands
        that share a variable with it while there are any."""
        first = [k for k, op in enumerate(ops) if isinstance(op, Values)]
        if first:
            return self._values_first(ops, first, bound)
        n = len(ops)
        if n == 0:
            return [], 0.0, 1.0
        names = sorted(set().union(bound, *(_all_vars(op) for op in ops)))
        bit = {name: 1 << k for k, name in enumerate(names)}

        def bits(vs) -> int:
            return sum(bit[v] for v in vs)

        every = [bits(_all_vars(op)) for op in ops]
        certain = [bits(_vars(op)) for op in ops]
        start = bits(bound)
        best: dict[int, tuple[float, float, list[int], int]] = {0: (0.0, 1.0, [], start)}
        memo: dict[tuple[int, int], tuple[float, float]] = {}
        for mask in range(1 << n):
            entry = best.get(mask)
            if entry is None:
                continue
            if len(best) > MAX_STATES:
                return self.greedy(ops, bound)
            cost, rows, seq, have = entry
            candidates = [j for j in range(n) if not mask >> j & 1]
            if mask:
                connected = [j for j in candidates if every[j] & have]
                candidates = connected or candidates
            for j in candidates:
                key = (j, have & every[j])
                found = memo.get(key)
                if found is None:
                    found = memo[key] = self.estimate(
                        ops[j], frozenset(v for v in names if bit[v] & key[1]))
                r, c = found
                total = cost + max(rows, 1.0) * c
                nxt = mask | 1 << j
                known = best.get(nxt)
                if known is None or total < known[0]:
                    best[nxt] = (total, rows * r, seq + [j], have | certain[j])
        cost, rows, seq, _ = best[(1 << n) - 1]
        return seq, cost, rows

    def _values_first(self, ops: list, first: list[int],
                      bound: frozenset[str]) -> tuple[list[int], float, float]:
        """VALUES blocks lead, as written: Oxigraph does not accept one on the right of a
        LATERAL whose left side binds its variables."""
        seen: set[str] = set(bound)
        rows = cost = 1.0
        for k in first:
            if ops[k].vars & seen:
                raise Unsupported("VALUES on a variable bound before it")
            seen |= ops[k].vars
            rows, cost = rows * ops[k].rows, cost + ops[k].rows
        rest = [k for k in range(len(ops)) if k not in first]
        known = frozenset(set(bound).union(*(ops[k].certain for k in first)))
        seq, more, after = self.order([ops[k] for k in rest], known)
        return first + [rest[j] for j in seq], cost + max(rows, 1.0) * more, rows * after

    def greedy(self, ops: list, bound: frozenset[str]) -> tuple[list[int], float, float]:
        """For long runs: at each step, the operand that costs least given what is bound."""
        have, left = set(bound), list(range(len(ops)))
        seq, cost, rows = [], 0.0, 1.0
        while left:
            scored = []
            connected = [j for j in left if _all_vars(ops[j]) & have] if seq else []
            for j in connected or left:
                r, c = self.estimate(ops[j], frozenset(have & _all_vars(ops[j])))
                scored.append((max(rows, 1.0) * c, r, j))
            step, r, j = min(scored)
            seq.append(j)
            left.remove(j)
            cost, rows = cost + step, rows * r
            have |= _vars(ops[j])
        return seq, cost, rows


def _operands(group: Group) -> list:
    ops = []
    for e in group.elements:
        if isinstance(e, (Triple, Nested, Values)):
            ops.append(e)
        elif isinstance(e, Boundary):
            break
    return ops


def _all_vars(op) -> set[str]:
    if isinstance(op, (Triple, Values)):
        return op.vars
    out: set[str] = set()
    for b in op.branches:
        for e in b.elements:
            if isinstance(e, (Triple, Nested, Values)):
                out |= _all_vars(e)
    return out


def _vars(op) -> set[str]:
    """The variables `op` always binds."""
    if isinstance(op, Triple):
        return op.vars
    if isinstance(op, Values):
        return op.certain
    sets = [set().union(*(_vars(e) for e in b.elements
                          if isinstance(e, (Triple, Nested, Values)))) for b in op.branches]
    return set.intersection(*sets) if sets else set()


def _pure(group: Group) -> bool:
    """Whether the group may be evaluated with outer bindings put in (LATERAL) and give the
    same solutions as when joined: only patterns, and filters on its own variables."""
    if not group.readable:
        return False
    own: set[str] = set()
    for e in group.elements:
        if isinstance(e, Triple):
            own |= e.vars
        elif isinstance(e, Values):
            own |= e.certain
        elif isinstance(e, Nested):
            if not all(_pure(b) for b in e.branches):
                return False
            own |= _vars(e)
        elif not isinstance(e, Filter):
            return False
    return all(not f.exists and f.vars <= own for f in group.elements if isinstance(f, Filter))


class _Writer:
    def __init__(self, planner: _Planner):
        self.planner = planner
        self.changed = False

    def group(self, group: Group, bound: frozenset[str]) -> str:
        if not group.readable or not group.elements:
            return group.text
        return "{ " + self.body(group, bound) + " }"

    def body(self, group: Group, bound: frozenset[str]) -> str:
        elements = group.elements
        cut = next((k for k, e in enumerate(elements) if isinstance(e, Boundary)), len(elements))
        run = [e for e in elements[:cut] if isinstance(e, (Triple, Nested, Values))]
        filters = [e.text for e in elements[:cut] if isinstance(e, Filter)]
        pieces: list[str] = []
        movable = all(not isinstance(op, Nested) or all(_pure(b) for b in op.branches)
                      for op in run)
        # The order of one operand is itself; its estimated rows matter only to an OPTIONAL.
        needed = len(run) >= 2 or any(isinstance(e, Boundary) and e.group is not None
                                      for e in elements[cut:])
        seq, _, rows = self.planner.order(run, bound) if movable and needed else (None, 0.0, 1.0)
        have = set(bound)
        if len(run) >= 2 and seq is not None:
            for position, k in enumerate(seq):
                op = run[k]
                text = self.operand(op, frozenset(have))
                pieces.append(("{ " if position == 0 else "LATERAL { ") + text + " }")
                have |= _vars(op)
            self.changed = True
        else:
            for op in run:
                pieces.append(self.operand(op, frozenset(have)))
                have |= _vars(op)
        after = frozenset(have)
        pieces.extend(filters)
        for e in elements[cut:]:
            pieces.append(self.element(e, after, rows))
        return " ".join(pieces)

    def operand(self, op, bound: frozenset[str]) -> str:
        if isinstance(op, (Triple, Values)):
            return op.text
        return " UNION ".join(self.group(b, bound) for b in op.branches)

    def element(self, e, bound: frozenset[str], rows: float) -> str:
        if isinstance(e, (Triple, Nested, Values)):
            return self.operand(e, bound)
        if isinstance(e, Filter):
            return e.text
        if e.group is None:
            return e.head
        if e.head.upper() == "OPTIONAL" and self.loop_is_cheaper(e.group, bound, rows):
            return f"{e.head} {self.group(e.group, bound)}"
        # As written otherwise: Oxigraph evaluates a group of several patterns once and joins
        # it by hashing; a LATERAL chain would make it run once per row of the left side.
        return f"{e.head} {e.group.text}"

    def loop_is_cheaper(self, group: Group, bound: frozenset[str], rows: float) -> bool:
        """Whether running the OPTIONAL's patterns once per row (ordered for what is bound)
        is estimated cheaper than running them once and joining."""
        if not group.readable or any(isinstance(e, Boundary) for e in group.elements):
            return False
        ops = _operands(group)
        if len(ops) < 2 or not all(not isinstance(op, Nested) or all(_pure(b) for b in op.branches)
                                   for op in ops):
            return False
        _, per_row, _ = self.planner.order(ops, bound)
        _, once, _ = self.planner.order(ops, frozenset())
        return max(rows, 1.0) * per_row < once + rows


class Planner:
    """Rewrites queries for the embedded store; one per process, thread-safe."""

    def __init__(self, stats: Statistics, store: Callable[[], ox.Store] | None = None):
        """`store` gives the store to count matches in (this process's handle)."""
        self.stats = stats
        self._store = store
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._counts: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def _count(self, query: str) -> float | None:
        with self._lock:
            if query in self._counts:
                return self._counts[query]
        try:
            rows = list(self._store().query(query, use_default_graph_as_union=True))  # type: ignore[misc, union-attr]
            found = float(rows[0]["n"].value)
        except (SyntaxError, OSError, ValueError, IndexError, TypeError):
            return None
        with self._lock:
            self._counts[query] = found
            if len(self._counts) > 4 * _CACHE_SIZE:
                self._counts.popitem(last=False)
        return found

    def plan(self, sparql: str) -> str:
        """`sparql` with its joins in the estimated cheapest order (or as written)."""
        with self._lock:
            cached = self._cache.get(sparql)
            if cached is not None:
                self._cache.move_to_end(sparql)
                return cached
        try:
            planned = self._rewrite(sparql)
        except (Unsupported, IndexError, RecursionError):
            planned = sparql
        with self._lock:
            self._cache[sparql] = planned
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return planned

    def _rewrite(self, sparql: str) -> str:
        tokens = tokenize(sparql)
        names, start = _prologue(tokens)
        reader = _Reader(sparql, tokens, names)
        where = _where(tokens, start, reader)
        if where is None:
            return sparql
        group, after = reader.group(where)
        prologue = sparql[:tokens[start].start] if start < len(tokens) else ""
        planner = _Planner(self.stats, self._count if self._store is not None else None, prologue)
        writer = _Writer(planner)
        text = writer.group(group, frozenset())
        if not writer.changed:
            return sparql
        head = sparql[:tokens[where].start]
        tail = sparql[tokens[after - 1].end:]
        return head + text + tail


def statistics_for(build_dir: Path | None, store: Callable[[], ox.Store]) -> Statistics:
    """The build's statistics file, or counts taken from the store when there is none."""
    if build_dir is not None:
        stats = Statistics.load(build_dir / STATS_FILE)
        if stats is not None:
            return stats
    return Statistics.of_store(store())


def write_statistics(build_dir: Path, store: ox.Store) -> Statistics:
    stats = Statistics.of_store(store)
    (build_dir / STATS_FILE).write_text(stats.to_json(), encoding="utf-8")
    return stats
