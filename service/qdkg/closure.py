"""What a change does to the OWL RL closure, and reading the stored graph around given nodes.

The stored state is already closed: `qg:inferred` holds the closure of ontology + article +
external. For a change that only adds triples, the new inferences are those with at least one
new premise, so the rules (rules.py) run over the added triples plus the stored triples they can
join with: the types, functional-property values and transitive-chain links of the nodes they
mention — a few hundred triples instead of the whole graph. A change that removes triples
compares the closure of the whole asserted state before and after, because a removed premise
can take away inferences anywhere. owlrl is the fallback when the rules cannot do it; every
inference is filtered as the build filters it (build.is_noise).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.term import Node

from .build import infer
from .build import is_noise as is_noise
from .namespaces import GRAPH_ARTICLE, GRAPH_EXTERNAL, GRAPH_INFERRED, GRAPH_ONTOLOGY
from .rules import Rules, is_schema
from .store import Store
from .terms import Triple, graph_of, to_ox, to_rdflib, triple_of

ASSERTED_GRAPHS = (GRAPH_ONTOLOGY, GRAPH_ARTICLE, GRAPH_EXTERNAL)
STATE_GRAPHS = (*ASSERTED_GRAPHS, GRAPH_INFERRED)
# Context nodes (described, not validated) keep at most this many values per property, so a
# district's hundreds of `contains` links do not drag every project into the slice.
CONTEXT_FAN_OUT = 25
_PAIRS_PER_QUERY = 2000
_SCHEMA_LINKS = {RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.inverseOf,
                 OWL.equivalentClass, OWL.equivalentProperty, OWL.onProperty, OWL.someValuesFrom,
                 OWL.allValuesFrom, OWL.hasValue, OWL.intersectionOf, OWL.unionOf, RDF.first,
                 RDF.rest, OWL.propertyChainAxiom, RDF.type}
_SYMMETRIC_LINKS = {OWL.inverseOf, OWL.equivalentClass, OWL.equivalentProperty}


@dataclass
class Diff:
    asserted_added: list[Triple] = field(default_factory=list)
    asserted_removed: list[Triple] = field(default_factory=list)
    inferred_added: list[Triple] = field(default_factory=list)
    inferred_removed: list[Triple] = field(default_factory=list)

    def inverse(self) -> Diff:
        return Diff(self.asserted_removed, self.asserted_added, self.inferred_removed,
                    self.inferred_added)

    def asserted_nodes(self) -> set[Node]:
        """Subjects and objects of the asserted changes (not the class of an rdf:type: using a
        class does not change it); IRIs only."""
        nodes: set[Node] = set()
        for s, p, o in (*self.asserted_added, *self.asserted_removed):
            nodes.update((s,) if p == RDF.type else (s, o))
        return {n for n in nodes if isinstance(n, URIRef)}

    def touched(self) -> set[Node]:
        """The asserted nodes and the subjects of the inferred changes."""
        inferred = {s for s, _, _ in (*self.inferred_added, *self.inferred_removed)}
        return self.asserted_nodes() | {n for n in inferred if isinstance(n, URIRef)}

    def __bool__(self) -> bool:
        return bool(self.asserted_added or self.asserted_removed)


class Ontology:
    """The stored ontology, indexed for picking the axioms a set of terms depends on."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.out: dict[Node, list[Triple]] = defaultdict(list)
        self.linked_from: dict[Node, list[Node]] = defaultdict(list)
        for s, p, o in graph:
            self.out[s].append((s, p, o))
            if p in _SYMMETRIC_LINKS:
                self.linked_from[o].append(s)
        self.functional = set(graph.subjects(RDF.type, OWL.FunctionalProperty))
        self.chain = self._transitive_family()
        self.rules = Rules(graph)

    def _transitive_family(self) -> set[Node]:
        """Transitive properties with their inverses and sub-properties: the chain links."""
        family = set(self.graph.subjects(RDF.type, OWL.TransitiveProperty))
        while True:
            grown = set(family)
            for p in family:
                grown.update(self.graph.objects(p, OWL.inverseOf))
                grown.update(self.graph.subjects(OWL.inverseOf, p))
                grown.update(self.graph.subjects(RDFS.subPropertyOf, p))
            if grown == family:
                return family
            family = grown

    def axioms_for(self, terms: Iterable[Node]) -> Graph:
        """The axioms of `terms` and of everything they reach through schema links."""
        todo = [t for t in terms if not isinstance(t, Literal)]
        seen: set[Node] = set()
        axioms = Graph()
        while todo:
            term = todo.pop()
            if term in seen:
                continue
            seen.add(term)
            todo.extend(self.linked_from.get(term, ()))
            for s, p, o in self.out.get(term, ()):
                if p in _SCHEMA_LINKS:
                    axioms.add((s, p, o))
                    if not isinstance(o, Literal):
                        todo.append(o)
        return axioms


def vocabulary(triples: Iterable[Triple]) -> set[Node]:
    terms: set[Node] = set()
    for _, p, o in triples:
        terms.add(p)
        if p == RDF.type:
            terms.add(o)
    return terms


def nodes_of(triples: Iterable[Triple]) -> set[Node]:
    return {n for s, _, o in triples for n in (s, o) if isinstance(n, URIRef)}


def _values(terms: Iterable[Node]) -> str:
    return " ".join(str(to_ox(t)) for t in terms)


def _in_graphs(graphs: Iterable[str]) -> str:
    # A FILTER, not VALUES ?g: Oxigraph plans VALUES ?g + GRAPH ?g as a scan (40 times slower).
    return "FILTER (?g IN (" + ", ".join(f"<{g}>" for g in graphs) + "))"


def _in_predicates(predicates: Iterable[Node]) -> str:
    # Likewise a FILTER, not a second VALUES: with VALUES ?s and VALUES ?p Oxigraph scans the
    # whole store (1.7 s against 3.5 ms at 1M quads).
    return "FILTER (?p IN (" + ", ".join(str(to_ox(p)) for p in predicates) + "))"


def _select(store: Store, sparql: str) -> list[Triple]:
    return [(to_rdflib(r["s"]), to_rdflib(r["p"]), to_rdflib(r["o"]))
            for r in store.query(sparql)]  # type: ignore[union-attr]


def describe(store: Store, nodes: Iterable[Node], graphs: Iterable[str] = STATE_GRAPHS,
             predicates: Iterable[Node] | None = None) -> list[Triple]:
    """Stored triples whose subject is one of `nodes` (optionally only with these predicates)."""
    nodes = [n for n in nodes if isinstance(n, URIRef)]
    if not nodes:
        return []
    restrict = ""
    if predicates is not None:
        predicates = list(predicates)
        if not predicates:
            return []
        restrict = _in_predicates(predicates)
    return _select(store, f"""SELECT DISTINCT ?s ?p ?o WHERE {{
        VALUES ?s {{ {_values(nodes)} }}
        GRAPH ?g {{ ?s ?p ?o }} {_in_graphs(graphs)} {restrict} }}""")


def incoming(store: Store, nodes: Iterable[Node], predicates: Iterable[Node],
             graphs: Iterable[str] = STATE_GRAPHS) -> list[Triple]:
    """Stored triples whose object is one of `nodes` and whose predicate one of `predicates`.

    Asked as (predicate, object) pairs: with the predicates in a FILTER instead, Oxigraph reads
    every triple pointing at a node, and a class or a measure has hundreds of thousands of
    them (190 ms against 2 ms at 1M quads).
    """
    nodes, predicates = list(nodes), list(predicates)
    pairs = [f"({_values([p])} {_values([o])})" for o in nodes for p in predicates]
    found: list[Triple] = []
    for start in range(0, len(pairs), _PAIRS_PER_QUERY):
        found += _select(store, f"""SELECT DISTINCT ?s ?p ?o WHERE {{
            VALUES (?p ?o) {{ {" ".join(pairs[start : start + _PAIRS_PER_QUERY])} }}
            GRAPH ?g {{ ?s ?p ?o }} {_in_graphs(graphs)} }}""")
    return list(dict.fromkeys(found))


def stored(store: Store, triples: Iterable[Triple], graphs: Iterable[str] = STATE_GRAPHS
           ) -> set[Triple]:
    """Which of `triples` the store already holds in one of `graphs`."""
    rows = [t for t in triples if not any(isinstance(x, BNode) for x in t)]
    found: set[Triple] = set()
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        values = " ".join(f"({_values(t)})" for t in chunk)
        found.update(_select(store, f"""SELECT DISTINCT ?s ?p ?o WHERE {{
            VALUES (?s ?p ?o) {{ {values} }}
            GRAPH ?g {{ ?s ?p ?o }} {_in_graphs(graphs)} }}"""))
    return found


def bounded(triples: Iterable[Triple], limit: int = CONTEXT_FAN_OUT) -> list[Triple]:
    """Drop the properties of a node that have more than `limit` values."""
    groups: dict[tuple[Node, Node], list[Triple]] = defaultdict(list)
    for t in triples:
        groups[(t[0], t[1])].append(t)
    return [t for group in groups.values() if len(group) <= limit for t in group]


def objects_of(triples: Iterable[Triple]) -> set[Node]:
    return {o for _, p, o in triples if isinstance(o, URIRef) and p != RDF.type}


def inferences_of_additions(store: Store, ontology: Ontology, added: list[Triple]) -> Diff:
    """The closure's change when `added` (not yet stored) joins the stored, closed state.

    The premises are the stored triples the new ones can join with: the types and
    functional-property values of the nodes they mention, and the chain links (transitive
    properties, their inverses and sub-properties) into and out of those nodes. Because the
    stored state is closed, one link on each side of a new one is enough for transitivity.
    """
    nodes = nodes_of(added)
    premises = describe(store, nodes, predicates={RDF.type, *ontology.functional, *ontology.chain})
    premises += incoming(store, nodes, ontology.chain)
    derived = ontology.rules.extend(premises, added)
    if derived is None:
        context = Graph()
        for t in (*premises, *added):
            context.add(t)
        context += ontology.axioms_for(vocabulary(context))
        derived = {t for t in infer(context) if t not in context}
    derived = {t for t in derived if not _has_blank(t) and not is_noise(*t)}
    known = stored(store, derived)
    inferred_added = sorted(t for t in derived if t not in known)
    inferred_removed = sorted(stored(store, added, graphs=(str(GRAPH_INFERRED),)))
    return Diff(list(added), [], inferred_added, inferred_removed)


def shape_inverse_paths(shapes: Graph) -> set[Node]:
    return {o for o in shapes.objects(None, SH.inversePath) if isinstance(o, URIRef)}


def inferences_of_change(store: Store, ontology: Ontology, added: list[Triple],
                         removed: list[Triple]) -> Diff:
    """The closure's change for a change that removes triples (and may add some).

    A removed premise can take away inferences anywhere, so the closure of the whole asserted
    state is computed before and after, and compared. The chainer does this in a fraction of a
    second; owlrl (several seconds) is used when the chainer cannot.
    """
    asserted: set[Triple] = set()
    for graph in ASSERTED_GRAPHS:
        asserted.update(triple_of(q) for q in store.quads(str(graph)))
    after = (asserted - set(removed)) | set(added)
    old, new = ontology.rules.closure(asserted), ontology.rules.closure(after)
    if old is None or new is None or any(is_schema(t) for t in (*added, *removed)):
        return inferences_by_owlrl(store, added, removed)
    old = {t for t in old if not _has_blank(t) and not is_noise(*t)}
    new = {t for t in new if not _has_blank(t) and not is_noise(*t)}
    stored_inferred = {triple_of(q) for q in store.quads(str(GRAPH_INFERRED))}
    return Diff(list(added), list(removed), sorted((new - old) - stored_inferred),
                sorted((old - new) & stored_inferred))


def inferences_by_owlrl(store: Store, added: list[Triple], removed: list[Triple]) -> Diff:
    """The closure's change, by owlrl over the whole new asserted state (as the build does)."""
    article = graph_of(store.quads(str(GRAPH_ARTICLE)))
    for t in removed:
        article.remove(t)
    for t in added:
        article.add(t)
    asserted = graph_of(store.quads(str(GRAPH_ONTOLOGY))) + article
    asserted += graph_of(store.quads(str(GRAPH_EXTERNAL)))
    new = {t for t in infer(asserted) if not _has_blank(t)}
    old = {triple_of(q) for q in store.quads(str(GRAPH_INFERRED))}
    old = {t for t in old if not _has_blank(t)}
    return Diff(list(added), list(removed), sorted(new - old), sorted(old - new))


def _has_blank(triple: Triple) -> bool:
    return any(isinstance(x, BNode) for x in triple)
