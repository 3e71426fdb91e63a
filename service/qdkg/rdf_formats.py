"""Serialising small graphs and datasets (a description, VoID, the ontology) in our formats.

pyoxigraph's serialisers are used wherever they exist (they are ~50x faster than rdflib's);
rdflib only for JSON-LD, whose compaction against our prefixes pyoxigraph does not do.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Identifier

from .namespaces import PREFIXES

# media type -> (file extension, pyoxigraph format or None for JSON-LD, keeps graph names)
FORMATS: dict[str, tuple[str, ox.RdfFormat | None, bool]] = {
    "text/turtle": ("ttl", ox.RdfFormat.TURTLE, False),
    "application/ld+json": ("jsonld", None, False),
    "application/n-triples": ("nt", ox.RdfFormat.N_TRIPLES, False),
    "application/rdf+xml": ("rdf", ox.RdfFormat.RDF_XML, False),
    "application/trig": ("trig", ox.RdfFormat.TRIG, True),
    "application/n-quads": ("nq", ox.RdfFormat.N_QUADS, True),
}
EXTENSION_TO_MEDIA: dict[str, str] = {ext: media for media, (ext, _, _) in FORMATS.items()}
FORMAT_NAMES: dict[str, str] = {
    "text/turtle": "Turtle",
    "application/ld+json": "JSON-LD",
    "application/n-triples": "N-Triples",
    "application/rdf+xml": "RDF/XML",
    "application/trig": "TriG",
    "application/n-quads": "N-Quads",
    "text/html": "HTML",
}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def content_type(media: str) -> str:
    """The Content-Type header value: every format we emit is UTF-8."""
    return media if media in ("application/n-triples", "application/n-quads") else (
        f"{media}; charset=utf-8"
    )


def serialize(quads: Iterable[ox.Quad], media: str) -> bytes:
    """`quads` in the format `media`; graph formats merge the graphs (each triple once)."""
    _, fmt, keeps_graphs = FORMATS[media]
    quads = list(dict.fromkeys(quads))
    if keeps_graphs:
        return ox.serialize(quads, format=fmt, prefixes=_without_qid(used_prefixes(quads))) or b""
    triples = list(dict.fromkeys(q.triple for q in quads))
    if fmt is None:
        return _jsonld(triples, used_prefixes(triples))
    prefixes = None if fmt == ox.RdfFormat.N_TRIPLES else _without_qid(used_prefixes(triples))
    return ox.serialize(triples, format=fmt, prefixes=prefixes) or b""


def _without_qid(prefixes: dict[str, str]) -> dict[str, str]:
    # Instance IRIs as Turtle prefixed names need an escaped slash (qid:district\/chengyang):
    # written in full they are easier to read and to copy.
    return {name: iri for name, iri in prefixes.items() if name != "qid"}


def used_prefixes(statements: list[ox.Quad] | list[ox.Triple]) -> dict[str, str]:
    """Our prefixes that some IRI in `statements` uses (no unused declarations in the output)."""
    iris = set()
    for statement in statements:
        for term in statement:
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal):
                iris.add(term.datatype.value)
    used = set()
    for iri in iris:
        # A namespace ends at a '#' or '/' of the IRI: look each candidate up, from the longest.
        end = len(iri)
        while end > 0:
            end = max(iri.rfind("#", 0, end), iri.rfind("/", 0, end))
            if end < 0:
                break
            prefix = _BY_NAMESPACE.get(iri[: end + 1])
            if prefix:
                used.add(prefix)
                break
    return {prefix: PREFIXES[prefix] for prefix in PREFIXES if prefix in used}


_BY_NAMESPACE = {namespace: prefix for prefix, namespace in PREFIXES.items()}


def _jsonld(triples: list[ox.Triple], prefixes: dict[str, str]) -> bytes:
    graph = Graph()
    for triple in triples:
        graph.add(tuple(to_rdflib(term) for term in triple))  # type: ignore[arg-type]
    text = graph.serialize(format="json-ld", context=prefixes, auto_compact=True)
    return text.encode("utf-8")


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Identifier:
    """A pyoxigraph term as the equal rdflib term (plain strings stay plain, as RDF 1.1 says)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    if datatype in (_XSD_STRING, _RDF_LANG_STRING):
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(datatype))
