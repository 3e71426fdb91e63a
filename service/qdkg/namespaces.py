"""IRIs and namespaces of the project, in one place; no I/O."""

from rdflib import Namespace, URIRef

BASE = "https://w3id.org/qdkg/"
ONTOLOGY_IRI = URIRef(BASE + "ontology")
QDKG = Namespace(BASE + "ontology#")
QID = Namespace(BASE + "id/")
QG = Namespace(BASE + "graph/")
NIF = Namespace("http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#")
ORG = Namespace("http://www.w3.org/ns/org#")
SCHEMA = Namespace("https://schema.org/")
QUDT = Namespace("http://qudt.org/schema/qudt/")
UNIT = Namespace("http://qudt.org/vocab/unit/")
OA = Namespace("http://www.w3.org/ns/oa#")
VOID = Namespace("http://rdfs.org/ns/void#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")

GRAPH_ARTICLE = QG["article"]
GRAPH_INFERRED = QG["inferred"]
GRAPH_ONTOLOGY = QG["ontology"]
GRAPH_SHAPES = QG["shapes"]
GRAPH_EXTERNAL = QG["external"]
GRAPH_TEXT = QG["text"]
CHANGE_GRAPH_PREFIX = BASE + "graph/change/"
ARTICLE_TEXT = QID["text/article"]

PREFIXES: dict[str, str] = {
    "qdkg": str(QDKG),
    "qid": str(QID),
    "qg": str(QG),
    "qsh": BASE + "shapes#",
    "nif": str(NIF),
    "org": str(ORG),
    "schema": str(SCHEMA),
    "qudt": str(QUDT),
    "unit": str(UNIT),
    "oa": str(OA),
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "sh": "http://www.w3.org/ns/shacl#",
    "void": str(VOID),
    "sd": str(SD),
}


def sparql_prefixes() -> str:
    """The PREFIX block for every namespace above, for queries and the query page."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
