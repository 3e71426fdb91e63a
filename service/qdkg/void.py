"""The VoID description of the dataset and of each named graph, with statistics from SPARQL.

Statistics are computed through the Store (so they are right for a remote store too) and
cached by the caller per store version: they only change when the data does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

import pyoxigraph as ox

from .describe import select
from .namespaces import PREFIXES, QDKG, QID, VOID
from .store import Store

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_DCT = "http://purl.org/dc/terms/"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_FOAF = "http://xmlns.com/foaf/0.1/"
_SD = "http://www.w3.org/ns/sparql-service-description#"
_FORMATS = "http://www.w3.org/ns/formats/"
_XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")

GRAPH_LABELS: dict[str, tuple[str, str]] = {
    "article": ("文章中的事实", "Facts stated in the article"),
    "inferred": ("推理得出的三元组（OWL 2 RL）", "Triples inferred by OWL 2 RL reasoning"),
    "ontology": ("本体", "The ontology"),
    "shapes": ("SHACL 约束形状", "SHACL shapes"),
    "external": ("外部知识（注明来源）", "Outside knowledge, each statement with its source"),
    "text": ("文章的句子与段落（由全文导出）", "Sentences and paragraphs cut from the article"),
}


@dataclass
class Statistics:
    triples: int
    entities: int
    classes: int
    properties: int
    distinct_subjects: int
    distinct_objects: int
    graphs: dict[str, int] = field(default_factory=dict)
    class_partitions: dict[str, int] = field(default_factory=dict)
    property_partitions: dict[str, int] = field(default_factory=dict)
    vocabularies: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


def _int(term: ox.Literal | None) -> int:
    return int(term.value) if term is not None else 0


def statistics(store: Store, uri_space: str) -> Statistics:
    totals = select(store, """SELECT (COUNT(*) AS ?t) (COUNT(DISTINCT ?s) AS ?s_)
        (COUNT(DISTINCT ?p) AS ?p_) (COUNT(DISTINCT ?o) AS ?o_) WHERE { ?s ?p ?o }""")[0]
    entities = select(store, f"""SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s ?p ?o
        FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{uri_space}")) }}""")[0]
    classes = select(store, "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c")
    props = select(store, "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p")
    graphs = select(store, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    examples = select(store, f"""SELECT ?x WHERE {{ ?x a <{QDKG.DistrictLevelDivision}> }}
        ORDER BY ?x LIMIT 5""")
    class_partitions = {
        r["c"].value: _int(r["n"]) for r in classes if isinstance(r["c"], ox.NamedNode)
    }
    property_partitions = {r["p"].value: _int(r["n"]) for r in props}
    used = set(class_partitions) | set(property_partitions)
    vocabularies = sorted(
        ns for prefix, ns in PREFIXES.items()
        if prefix not in ("qid", "qg") and any(term.startswith(ns) for term in used)
    )
    return Statistics(
        triples=_int(totals["t"]),
        entities=_int(entities["n"]),
        classes=len(class_partitions),
        properties=len(property_partitions),
        distinct_subjects=_int(totals["s_"]),
        distinct_objects=_int(totals["o_"]),
        graphs={r["g"].value: _int(r["n"]) for r in graphs if isinstance(r["g"], ox.NamedNode)},
        class_partitions=class_partitions,
        property_partitions=property_partitions,
        vocabularies=vocabularies,
        examples=[r["x"].value for r in examples],
    )


class _Builder:
    def __init__(self) -> None:
        self.triples: list[ox.Triple] = []

    def add(self, s: ox.NamedNode | ox.BlankNode, p: str, o: object) -> None:
        if isinstance(o, int):
            o = ox.Literal(str(o), datatype=_XSD_INTEGER)
        elif isinstance(o, str):
            o = ox.NamedNode(o)
        self.triples.append(ox.Triple(s, ox.NamedNode(p), o))  # type: ignore[arg-type]


def dataset_iri(base: str) -> str:
    return f"{base}.well-known/void#dataset"


def void_triples(stats: Statistics, base: str, service: str) -> list[ox.Triple]:
    """The VoID description: canonical IRIs for the data, the service's URLs for its endpoints."""
    b = _Builder()
    dataset = ox.NamedNode(dataset_iri(base))
    v = str(VOID)
    b.add(dataset, str(RDF_TYPE.value), v + "Dataset")
    titles = (("zh", "青岛城市更新知识图谱"), ("en", "Qingdao urban renewal knowledge graph"))
    for lang, title in titles:
        b.add(dataset, _DCT + "title", ox.Literal(title, language=lang))
    b.add(dataset, _DCT + "description", ox.Literal(
        "A knowledge graph of one Qingdao Daily / Guanhai News report on urban renewal: people, "
        "places, projects, programmes and every figure, with the sentence it comes from.",
        language="en"))
    b.add(dataset, _DCT + "source", str(QID["article/qingdao-urban-renewal-interviews"]))
    b.add(dataset, _FOAF + "homepage", service + "/")
    b.add(dataset, v + "sparqlEndpoint", service + "/sparql")
    b.add(dataset, v + "dataDump", service + "/dump.nq")
    b.add(dataset, v + "dataDump", service + "/dump.trig")
    b.add(dataset, v + "uriSpace", ox.Literal(base))
    b.add(dataset, v + "rootResource", str(QID["article/qingdao-urban-renewal-interviews"]))
    for example in stats.examples:
        b.add(dataset, v + "exampleResource", example)
    for vocabulary in stats.vocabularies:
        b.add(dataset, v + "vocabulary", vocabulary)
    for name in ("Turtle", "N-Triples", "JSON-LD", "RDF_XML", "TriG", "N-Quads"):
        b.add(dataset, v + "feature", _FORMATS + name)
    b.add(dataset, v + "triples", stats.triples)
    b.add(dataset, v + "entities", stats.entities)
    b.add(dataset, v + "classes", stats.classes)
    b.add(dataset, v + "properties", stats.properties)
    b.add(dataset, v + "distinctSubjects", stats.distinct_subjects)
    b.add(dataset, v + "distinctObjects", stats.distinct_objects)
    for graph, count in sorted(stats.graphs.items()):
        b.add(dataset, v + "subset", graph)
        b.triples.extend(graph_triples(graph, count, base, service))
    for index, (cls, count) in enumerate(sorted(stats.class_partitions.items())):
        node = ox.BlankNode(f"class{index}")
        b.add(dataset, v + "classPartition", node)
        b.add(node, v + "class", cls)
        b.add(node, v + "entities", count)
    for index, (prop, count) in enumerate(sorted(stats.property_partitions.items())):
        node = ox.BlankNode(f"property{index}")
        b.add(dataset, v + "propertyPartition", node)
        b.add(node, v + "property", prop)
        b.add(node, v + "triples", count)
    return b.triples


def graph_triples(graph: str, count: int, base: str, service: str) -> list[ox.Triple]:
    """What the service says about one named graph: its size, name and where to get it."""
    b = _Builder()
    node = ox.NamedNode(graph)
    b.add(node, str(RDF_TYPE.value), str(VOID) + "Dataset")
    b.add(node, str(RDF_TYPE.value), _SD + "Graph")
    b.add(node, str(VOID) + "triples", count)
    b.add(node, str(VOID) + "sparqlEndpoint", service + "/sparql")
    b.add(node, str(VOID) + "dataDump", f"{service}/store?graph={quote(graph, safe='')}")
    b.add(node, _DCT + "isPartOf", dataset_iri(base))
    name = graph.removeprefix(base + "graph/")
    if name in GRAPH_LABELS:
        zh, en = GRAPH_LABELS[name]
        b.add(node, _RDFS + "label", ox.Literal(zh, language="zh"))
        b.add(node, _RDFS + "label", ox.Literal(en, language="en"))
    elif name.startswith("change/"):
        change = name.removeprefix("change/")
        b.add(node, _RDFS + "label", ox.Literal(f"已接受的变更 {change}", language="zh"))
        b.add(node, _RDFS + "label", ox.Literal(f"Accepted change {change}", language="en"))
    return b.triples
