"""The ontology's documentation as a view model: every term with its labels in zh and en, its
definition, hierarchy, domain and range, the SHACL shapes that constrain it and an example from
the graph. Read through the Store (graphs qg:ontology and qg:shapes); no Flask here.

Not pyLODE (3.4, tried): it shows one label per term picked regardless of language, knows
nothing of SHACL shapes or instance data, inlines its CSS and script (which our
Content-Security-Policy forbids), and its wheel fails at import (RDFLib/pyLODE#260).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import pyoxigraph as ox

from .namespaces import BASE, GRAPH_ONTOLOGY, GRAPH_SHAPES, ONTOLOGY_IRI, QID
from .pages import compact, other_language, pick
from .store import Store

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SH = "http://www.w3.org/ns/shacl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"

# section key -> the rdf:types that put a term in it, in page order
SECTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("classes", (OWL + "Class", RDFS + "Class")),
    ("object_properties", (OWL + "ObjectProperty",)),
    ("datatype_properties", (OWL + "DatatypeProperty",)),
    ("annotation_properties", (OWL + "AnnotationProperty", RDF + "Property")),
    ("individuals", (OWL + "NamedIndividual",)),
]
_CHARACTERISTICS = ("Transitive", "Symmetric", "Functional", "InverseFunctional", "Asymmetric",
                    "Reflexive", "Irreflexive")
_SHAPE_SKIP = {RDF + "type", RDFS + "label", RDFS + "comment", SH + "message", SH + "severity",
               SH + "targetClass", SH + "targetSubjectsOf", SH + "targetObjectsOf", SH + "path",
               SH + "property", SH + "name", SH + "description", SH + "sparql"}

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Table = dict[Term, dict[str, list[Term]]]
Href = Callable[[str], str]


@dataclass
class Source:
    """Everything the page is made of, read once per store version."""

    ontology: Table
    shapes: Table
    class_examples: dict[str, str]
    property_examples: dict[str, tuple[str, Term]]
    labels: dict[str, dict[str, str]]


def _table(store: Store, graph: str) -> Table:
    table: Table = defaultdict(lambda: defaultdict(list))
    query = f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    for s in store.query(query):  # type: ignore[union-attr]
        table[s["s"]][s["p"].value].append(s["o"])
    return table


def read_source(store: Store) -> Source:
    id_space = str(QID)
    classes = {
        s["c"].value: s["x"].value
        for s in store.query(  # type: ignore[union-attr]
            "SELECT ?c (MIN(STR(?i)) AS ?x) WHERE { ?i a ?c "
            f'FILTER(isIRI(?c) && STRSTARTS(STR(?i), "{id_space}")) }} GROUP BY ?c'
        )
    }
    subjects = {
        s["p"].value: s["x"].value
        for s in store.query(  # type: ignore[union-attr]
            "SELECT ?p (MIN(STR(?i)) AS ?x) WHERE { ?i ?p ?o "
            f'FILTER(STRSTARTS(STR(?i), "{id_space}")) }} GROUP BY ?p'
        )
    }
    properties: dict[str, tuple[str, Term]] = {}
    if subjects:
        pairs = " ".join(f"(<{p}> <{s}>)" for p, s in subjects.items())
        query = f"SELECT ?p ?s ?o WHERE {{ VALUES (?p ?s) {{ {pairs} }} ?s ?p ?o }} ORDER BY ?o"
        for s in store.query(query):  # type: ignore[union-attr]
            properties.setdefault(s["p"].value, (s["s"].value, s["o"]))
    named = set(classes.values()) | {s for s, _ in properties.values()} | {
        o.value for _, o in properties.values() if isinstance(o, ox.NamedNode)
    }
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    if named:
        values = " ".join(f"<{iri}>" for iri in sorted(named))
        query = f"SELECT ?x ?l WHERE {{ VALUES ?x {{ {values} }} ?x <{RDFS}label> ?l }}"
        for s in store.query(query):  # type: ignore[union-attr]
            labels[s["x"].value][s["l"].language or ""] = s["l"].value
    return Source(
        _table(store, str(GRAPH_ONTOLOGY)), _table(store, str(GRAPH_SHAPES)),
        classes, properties, dict(labels),
    )


@dataclass
class Ref:
    iri: str
    label: str
    href: str


@dataclass
class ShapeDoc:
    iri: str
    anchor: str
    label: str
    message: str | None
    severity: str | None
    targets: list[Ref]
    path: Ref | None
    constraints: list[tuple[str, str]]
    properties: list[ShapeDoc] = field(default_factory=list)


@dataclass
class Row:
    key: str
    values: list[Ref | str]


@dataclass
class TermDoc:
    iri: str
    anchor: str
    compact: str
    label: str
    other_label: str | None
    definition: str | None
    comment: str | None
    rows: list[Row]
    shapes: list[ShapeDoc]
    example: tuple[Ref, Ref | str | None] | None


@dataclass
class OntologyDoc:
    iri: str
    title: str
    description: str | None
    version: str | None
    version_iri: str | None
    license: str | None
    sections: list[tuple[str, list[TermDoc]]]
    shapes: list[ShapeDoc]


def anchor(iri: str) -> str:
    """The HTML id of a term or shape: the fragment of our own hash IRIs (so `ontology#Term` and
    `shapes#Shape` land on it), a readable id made from the compact IRI otherwise."""
    if iri.startswith(BASE) and "#" in iri:
        return iri.rsplit("#", 1)[1]
    return compact(iri).replace(":", "-").replace("/", "-").replace("#", "-")


def _texts(props: dict[str, list[Term]], predicate: str) -> dict[str, str]:
    literals = [o for o in props.get(predicate, []) if isinstance(o, ox.Literal)]
    return {o.language or "": o.value for o in literals}


def _iris(props: dict[str, list[Term]], predicate: str) -> list[str]:
    return [o.value for o in props.get(predicate, []) if isinstance(o, ox.NamedNode)]


def _rdf_list(table: Table, node: Term) -> list[Term] | None:
    items: list[Term] = []
    while isinstance(node, ox.BlankNode):
        props = table.get(node, {})
        if RDF + "first" not in props:
            return None
        items.append(props[RDF + "first"][0])
        node = props.get(RDF + "rest", [ox.NamedNode(RDF + "nil")])[0]
    return items if isinstance(node, ox.NamedNode) and node.value == RDF + "nil" else None


def build(source: Source, lang: str, href: Href) -> OntologyDoc:
    """The documentation in `lang` (labels of the other language shown beside)."""
    onto, shapes_table = source.ontology, source.shapes
    documented: dict[str, str] = {}  # term IRI -> section
    for subject, props in onto.items():
        if not isinstance(subject, ox.NamedNode):
            continue
        types = set(_iris(props, RDF + "type"))
        for key, section_types in SECTIONS:
            if types & set(section_types):
                documented[subject.value] = key
                break

    def label(iri: str, language: str = lang) -> str:
        labels = _texts(onto.get(ox.NamedNode(iri), {}), RDFS + "label")
        return pick(labels or source.labels.get(iri, {}), language) or compact(iri)

    def ref(iri: str) -> Ref:
        link = f"#{anchor(iri)}" if iri in documented else href(iri)
        return Ref(iri, label(iri), link)

    def show(term: Term) -> Ref | str:
        if isinstance(term, ox.NamedNode):
            return ref(term.value)
        if isinstance(term, ox.BlankNode):
            items = _rdf_list(onto, term)
            if items is not None:
                return " | ".join(_plain(i) for i in items)
            union = onto.get(term, {}).get(OWL + "unionOf")
            if union:
                return " | ".join(_plain(i) for i in _rdf_list(onto, union[0]) or [])
        return _plain(term)

    def _plain(term: Term) -> str:
        if isinstance(term, ox.NamedNode):
            return label(term.value)
        if isinstance(term, ox.Literal):
            return term.value
        return "[…]"

    shape_docs, by_term = _shapes(shapes_table, ref, lang)
    inverse: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for subject, props in onto.items():
        if isinstance(subject, ox.NamedNode):
            for predicate in (RDFS + "subClassOf", RDFS + "subPropertyOf", RDFS + "domain",
                              RDFS + "range"):
                for target in _iris(props, predicate):
                    inverse[target][predicate].append(subject.value)

    sections: dict[str, list[TermDoc]] = defaultdict(list)
    for iri, key in documented.items():
        props = onto[ox.NamedNode(iri)]
        rows = [
            Row("subclass_of", [show(o) for o in props.get(RDFS + "subClassOf", [])]),
            Row("superclass_of", [ref(s) for s in sorted(inverse[iri][RDFS + "subClassOf"])]),
            Row("subproperty_of", [show(o) for o in props.get(RDFS + "subPropertyOf", [])]),
            Row("superproperty_of", [ref(s) for s in sorted(inverse[iri][RDFS + "subPropertyOf"])]),
            Row("inverse_of", [show(o) for o in props.get(OWL + "inverseOf", [])]),
            Row("domain", [show(o) for o in props.get(RDFS + "domain", [])]),
            Row("range", [show(o) for o in props.get(RDFS + "range", [])]),
            Row("in_domain_of", [ref(s) for s in sorted(inverse[iri][RDFS + "domain"])]),
            Row("in_range_of", [ref(s) for s in sorted(inverse[iri][RDFS + "range"])]),
            Row("characteristics", [c for c in _CHARACTERISTICS
                                    if OWL + c + "Property" in _iris(props, RDF + "type")]),
            Row("matches", [show(o) for p in (SKOS + "exactMatch", SKOS + "closeMatch",
                                              OWL + "equivalentClass", OWL + "equivalentProperty")
                            for o in props.get(p, [])]),
        ]
        sections[key].append(TermDoc(
            iri=iri,
            anchor=anchor(iri),
            compact=compact(iri),
            label=label(iri),
            other_label=_texts(props, RDFS + "label").get(other_language(lang)),
            definition=pick(_texts(props, SKOS + "definition"), lang),
            comment=pick(_texts(props, RDFS + "comment"), lang),
            rows=[r for r in rows if r.values],
            shapes=by_term.get(iri, []),
            example=_example(iri, key, source, ref, show),
        ))
    ontology = onto.get(ox.NamedNode(str(ONTOLOGY_IRI)), {})
    version_iri = _iris(ontology, OWL + "versionIRI")
    licence = _iris(ontology, DCT + "license")
    return OntologyDoc(
        iri=str(ONTOLOGY_IRI),
        title=pick(_texts(ontology, DCT + "title"), lang) or compact(str(ONTOLOGY_IRI)),
        description=pick(_texts(ontology, DCT + "description"), lang),
        version=pick(_texts(ontology, OWL + "versionInfo"), lang),
        version_iri=version_iri[0] if version_iri else None,
        license=licence[0] if licence else None,
        sections=[(key, sorted(sections[key], key=lambda t: t.compact.lower()))
                  for key, _ in SECTIONS if sections.get(key)],
        shapes=shape_docs,
    )


def _example(
    iri: str, section: str, source: Source, ref: Callable[[str], Ref],
    show: Callable[[Term], Ref | str],
) -> tuple[Ref, Ref | str | None] | None:
    if section == "classes" and iri in source.class_examples:
        return ref(source.class_examples[iri]), None
    if section != "classes" and iri in source.property_examples:
        subject, value = source.property_examples[iri]
        return ref(subject), show(value)
    return None


def _shapes(
    table: Table, ref: Callable[[str], Ref], lang: str
) -> tuple[list[ShapeDoc], dict[str, list[ShapeDoc]]]:
    """Top-level shapes, and for each class or property the shapes that constrain it."""

    def value(term: Term) -> str:
        if isinstance(term, ox.NamedNode):
            return compact(term.value)
        if isinstance(term, ox.Literal):
            return term.value
        items = _rdf_list(table, term)
        if items is not None:
            return "( " + " ".join(value(i) for i in items) + " )"
        inner = table.get(term, {})
        return "[ " + " ; ".join(
            f"{compact(p)} {value(o)}" for p, objs in inner.items() for o in objs
        ) + " ]"

    def doc(node: Term) -> ShapeDoc:
        props = table.get(node, {})
        paths = props.get(SH + "path", [])
        path = ref(paths[0].value) if paths and isinstance(paths[0], ox.NamedNode) else None
        targets = [ref(t) for p in ("targetClass", "targetSubjectsOf", "targetObjectsOf")
                   for t in _iris(props, SH + p)]
        constraints = [(compact(p), value(o)) for p, objs in props.items()
                       if p not in _SHAPE_SKIP for o in objs]
        if SH + "sparql" in props:
            constraints.append(("sh:sparql", "SPARQL"))
        severity = _iris(props, SH + "severity")
        iri = node.value if isinstance(node, ox.NamedNode) else ""
        return ShapeDoc(
            iri=iri,
            anchor=anchor(iri) if iri else "",
            label=pick(_texts(props, RDFS + "label") or _texts(props, SH + "name"), lang)
            or (compact(iri) if iri else (path.label if path else "")),
            message=pick(_texts(props, SH + "message"), lang),
            severity=compact(severity[0]) if severity else None,
            targets=targets,
            path=path,
            constraints=sorted(constraints),
            properties=[doc(p) for p in props.get(SH + "property", [])],
        )

    shapes = []
    by_term: dict[str, list[ShapeDoc]] = defaultdict(list)
    for node, props in table.items():
        if not isinstance(node, ox.NamedNode):
            continue
        types = set(_iris(props, RDF + "type"))
        if not types & {SH + "NodeShape", SH + "PropertyShape"}:
            continue
        shape = doc(node)
        shapes.append(shape)
        terms = {t.iri for t in shape.targets}
        terms |= {p.path.iri for p in [shape, *shape.properties] if p.path}
        for term in terms:
            by_term[term].append(shape)
    shapes.sort(key=lambda s: s.iri)
    return shapes, by_term
