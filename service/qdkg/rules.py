"""A forward chainer for the OWL 2 RL rules the ontology uses, to extend an already closed state.

owlrl recomputes a closure from scratch (about 1 ms per triple here, and it has no incremental
mode); validating a 100-triple submission that way cannot answer in a fraction of a second. This
chainer applies the same rules as owlrl's OWL 2 RL semantics for the axioms the ontology actually
contains — subclass, subproperty, equivalence, domain, range, inverse, symmetric and transitive
properties (cax-sco, cax-eqc, prp-spo1, prp-eqp, prp-dom, prp-rng, prp-inv, prp-symp, prp-trp) —
starting from triples already closed, so it only follows the consequences of the new ones.
Anything beyond that (class expressions, property chains, keys, owl:sameAs, a functional
property given a second value, schema triples in the change) makes `Rules.extend` return None and
the caller falls back to owlrl. Disjointness axioms only detect inconsistencies, which the
build's closure drops as well, so they are not rules here. tests/test_validation.py checks that
both ways give the same inferences.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

from .terms import Triple

UNSUPPORTED = {
    OWL.Restriction, OWL.intersectionOf, OWL.unionOf, OWL.oneOf, OWL.complementOf, OWL.hasKey,
    OWL.propertyChainAxiom, OWL.InverseFunctionalProperty, OWL.sameAs, OWL.someValuesFrom,
    OWL.allValuesFrom, OWL.hasValue, OWL.maxCardinality, OWL.maxQualifiedCardinality,
    OWL.hasSelf, OWL.ReflexiveProperty,
}
_SCHEMA_NAMESPACES = (str(RDFS), str(OWL))
_RDF_SCHEMA_TERMS = {RDF.Property, RDF.List, RDF.first, RDF.rest}
# Namespace attribute lookups cost a call each; these run once per triple of a whole graph.
_TYPE = RDF.type
_ANNOTATIONS = (RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy)


class Rules:
    def __init__(self, ontology: Graph) -> None:
        self.supported = not any(
            term in UNSUPPORTED for triple in ontology for term in triple
        )
        self.superclasses = _table(ontology, RDFS.subClassOf, OWL.equivalentClass)
        self.superproperties = _table(ontology, RDFS.subPropertyOf, OWL.equivalentProperty)
        self.domains = _table(ontology, RDFS.domain)
        self.ranges = _table(ontology, RDFS.range)
        self.inverses = _table(ontology, OWL.inverseOf, OWL.inverseOf)
        self.transitive = set(ontology.subjects(RDF.type, OWL.TransitiveProperty))
        self.symmetric = set(ontology.subjects(RDF.type, OWL.SymmetricProperty))
        self.functional = set(ontology.subjects(RDF.type, OWL.FunctionalProperty))

    def extend(self, closed: Iterable[Triple], added: Iterable[Triple]) -> set[Triple] | None:
        """The triples that follow from `closed` ∪ `added` and are in neither, or None when
        the change needs more than these rules. `closed` must hold every stored triple the
        new ones can join with (see closure.py)."""
        added = list(added)
        if not self.supported or any(is_schema(t) for t in added):
            return None
        return self._chain(closed, added)

    def _chain(self, closed: Iterable[Triple], added: list[Triple]) -> set[Triple] | None:
        facts = _Index(closed)
        start = set(facts.all)
        agenda = list(added)
        while agenda:
            triple = agenda.pop()
            if triple in facts.all:
                continue
            s, p, o = triple
            if p in self.functional and any(v != o for v in facts.objects(s, p)):
                return None
            facts.add(triple)
            agenda.extend(self._consequences(facts, s, p, o))
        return facts.all - start - set(added)

    def closure(self, asserted: Iterable[Triple]) -> set[Triple] | None:
        """What follows from the facts in `asserted` (whose schema triples are the ontology's,
        already in the rules' tables) and is not in it; None as for extend."""
        schema: list[Triple] = []
        facts: list[Triple] = []
        for triple in asserted:
            (schema if is_schema(triple) else facts).append(triple)
        return self.closure_of(schema, facts)

    def closure_of(self, schema: Iterable[Triple], facts: list[Triple]) -> set[Triple] | None:
        """`closure` of triples already split by `is_schema`: what follows from them and is in
        neither."""
        return self._chain(schema, facts) if self.supported else None

    def _consequences(self, facts: _Index, s: Node, p: Node, o: Node) -> Iterable[Triple]:
        if p == _TYPE:
            for c in self.superclasses.get(o, ()):
                yield (s, _TYPE, c)
            return
        for q in self.superproperties.get(p, ()):
            yield (s, q, o)
        for c in self.domains.get(p, ()):
            yield (s, _TYPE, c)
        if isinstance(o, Literal):
            return
        for c in self.ranges.get(p, ()):
            yield (o, _TYPE, c)
        for q in self.inverses.get(p, ()):
            yield (o, q, s)
        if p in self.symmetric:
            yield (o, p, s)
        if p in self.transitive:
            for z in list(facts.objects(o, p)):
                yield (s, p, z)
            for w in list(facts.subjects(p, s)):
                yield (w, p, o)


def is_schema(triple: Triple) -> bool:
    """A triple that changes what the rules are (it belongs in the ontology, not the facts)."""
    _, p, o = triple
    if p == _TYPE:
        return isinstance(o, URIRef) and (str(o).startswith(_SCHEMA_NAMESPACES)
                                          or o in _RDF_SCHEMA_TERMS)
    return str(p).startswith(_SCHEMA_NAMESPACES) and p not in _ANNOTATIONS


def _table(graph: Graph, predicate: Node, symmetric: Node | None = None) -> dict[Node, set[Node]]:
    table: dict[Node, set[Node]] = defaultdict(set)
    for s, o in graph.subject_objects(predicate):
        if s != o:
            table[s].add(o)
    if symmetric is not None:
        for s, o in graph.subject_objects(symmetric):
            if s != o:
                table[s].add(o)
                table[o].add(s)
    return dict(table)


class _Index:
    def __init__(self, triples: Iterable[Triple]) -> None:
        self.all: set[Triple] = set()
        self.out: dict[tuple[Node, Node], set[Node]] = defaultdict(set)
        self.into: dict[tuple[Node, Node], set[Node]] = defaultdict(set)
        for t in triples:
            self.add(t)

    def add(self, triple: Triple) -> None:
        s, p, o = triple
        self.all.add(triple)
        self.out[(s, p)].add(o)
        self.into[(p, o)].add(s)

    def objects(self, s: Node, p: Node) -> set[Node]:
        return self.out.get((s, p), set())

    def subjects(self, p: Node, o: Node) -> set[Node]:
        return self.into.get((p, o), set())
