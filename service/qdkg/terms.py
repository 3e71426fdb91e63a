"""Moving RDF terms between pyoxigraph (the store, the parsers) and rdflib (owlrl, pySHACL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from .namespaces import BASE

SKOLEM_PREFIX = BASE + ".well-known/genid/"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Triple):
        raise TypeError("RDF 1.2 triple terms are not supported here")
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == _XSD_STRING:
        return Literal(term.value)  # rdflib's parsers leave plain strings untyped; match them
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


Triple = tuple[Node, Node, Node]


def graph_of(triples: Iterable[ox.Triple | ox.Quad | Triple]) -> Graph:
    """An rdflib graph holding the triples (quads lose their graph name)."""
    graph = Graph()
    for t in triples:
        if isinstance(t, tuple):
            graph.add(t)
        else:
            graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return graph


def triple_of(quad: ox.Quad | ox.Triple) -> Triple:
    return (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object))


def quad_of(triple: Triple, graph: str) -> ox.Quad:
    s, p, o = triple
    return ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.NamedNode(graph))  # type: ignore[arg-type]


def is_skolem(term: object) -> bool:
    return isinstance(term, URIRef) and str(term).startswith(SKOLEM_PREFIX)


def skolemize(triples: Iterable[Triple]) -> tuple[list[Triple], dict[URIRef, str]]:
    """Replace blank nodes with fresh IRIs (RDF 1.1, section 3.5), so a written triple can be
    named again later (to remove it) and every process stores the same node. Returns the
    triples and, for reports, each new IRI's original blank-node label."""
    mapping: dict[BNode, URIRef] = {}

    def fix(term: Node) -> Node:
        if isinstance(term, BNode):
            if term not in mapping:
                mapping[term] = URIRef(SKOLEM_PREFIX + uuid.uuid4().hex)
            return mapping[term]
        return term

    out = [(fix(s), fix(p), fix(o)) for s, p, o in triples]
    return out, {iri: str(bnode) for bnode, iri in mapping.items()}
