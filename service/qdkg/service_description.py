"""The SPARQL 1.1 Service Description of /sparql: formats, features, graphs and limits, as triples.

The limits have no standard vocabulary, so they are stated twice: as qdkg: properties (declared
in the ontology) for programs, and in an rdfs:comment in English and Chinese for people.
"""

from __future__ import annotations

from collections.abc import Collection

import pyoxigraph as ox

from .config import Config
from .executor import WALL_FACTOR
from .namespaces import QDKG, QG, SD, VOID

SD_PREFIXES = {
    "sd": str(SD), "void": str(VOID), "qdkg": str(QDKG), "qg": str(QG),
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "dcterms": "http://purl.org/dc/terms/",
    "xsd": "http://www.w3.org/2001/XMLSchema#", "formats": "http://www.w3.org/ns/formats/",
}
TRUNCATED_HEADER = "X-QDKG-Truncated"
ROW_LIMIT_HEADER = "X-QDKG-Row-Limit"

_FORMATS = "http://www.w3.org/ns/formats/"
RESULT_FORMAT_IRIS = {
    "application/sparql-results+json": _FORMATS + "SPARQL_Results_JSON",
    "application/sparql-results+xml": _FORMATS + "SPARQL_Results_XML",
    "text/csv": _FORMATS + "SPARQL_Results_CSV",
    "text/tab-separated-values": _FORMATS + "SPARQL_Results_TSV",
    "text/turtle": _FORMATS + "Turtle",
    "application/n-triples": _FORMATS + "N-Triples",
    "application/ld+json": _FORMATS + "JSON-LD",
    "application/rdf+xml": _FORMATS + "RDF_XML",
    "application/n-quads": _FORMATS + "N-Quads",
    "application/trig": _FORMATS + "TriG",
}
_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_RDFS_COMMENT = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
_RDFS_SEE_ALSO = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#seeAlso")
_DCTERMS_TITLE = ox.NamedNode("http://purl.org/dc/terms/title")
_XSD = "http://www.w3.org/2001/XMLSchema#"


def _sd(name: str) -> ox.NamedNode:
    return ox.NamedNode(str(SD[name]))


def _qdkg(name: str) -> ox.NamedNode:
    return ox.NamedNode(str(QDKG[name]))


def _typed(value: object, datatype: str) -> ox.Literal:
    return ox.Literal(str(value), datatype=ox.NamedNode(_XSD + datatype))


def _decimal(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def describe_service(
    endpoint: str, site: str, config: Config, graphs: Collection[str]
) -> list[ox.Triple]:
    """The description of the endpoint at URL `endpoint`, served from `site` (ending in '/')."""
    service = ox.NamedNode(endpoint)
    dataset, default_graph = ox.BlankNode("dataset"), ox.BlankNode("default")
    triples = [
        ox.Triple(service, _RDF_TYPE, _sd("Service")),
        ox.Triple(service, _sd("endpoint"), service),
        ox.Triple(service, _sd("supportedLanguage"), _sd("SPARQL11Query")),
        ox.Triple(service, _sd("feature"), _sd("UnionDefaultGraph")),
        ox.Triple(service, _DCTERMS_TITLE,
                  ox.Literal("青岛城市更新知识图谱 SPARQL 查询服务", language="zh")),
        ox.Triple(service, _DCTERMS_TITLE, ox.Literal(
            "SPARQL endpoint of the Qingdao urban renewal knowledge graph", language="en")),
        ox.Triple(service, _sd("defaultDataset"), dataset),
        ox.Triple(dataset, _RDF_TYPE, _sd("Dataset")),
        ox.Triple(dataset, _RDF_TYPE, ox.NamedNode(str(VOID["Dataset"]))),
        ox.Triple(dataset, _sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, _RDF_TYPE, _sd("Graph")),
        ox.Triple(default_graph, _RDFS_COMMENT, ox.Literal(
            "The default graph is the union of all named graphs.", language="en")),
        ox.Triple(default_graph, _RDFS_COMMENT,
                  ox.Literal("默认图是所有命名图的并集。", language="zh")),
        ox.Triple(dataset, ox.NamedNode(str(VOID["dataDump"])), ox.NamedNode(site + "dump.nq")),
        ox.Triple(dataset, ox.NamedNode(str(VOID["dataDump"])), ox.NamedNode(site + "dump.trig")),
        ox.Triple(service, _RDFS_SEE_ALSO, ox.NamedNode(site + ".well-known/void")),
    ]
    for iri in RESULT_FORMAT_IRIS.values():
        triples.append(ox.Triple(service, _sd("resultFormat"), ox.NamedNode(iri)))
    for index, graph in enumerate(sorted(graphs)):
        node = ox.BlankNode(f"graph{index}")
        triples += [
            ox.Triple(dataset, _sd("namedGraph"), node),
            ox.Triple(node, _RDF_TYPE, _sd("NamedGraph")),
            ox.Triple(node, _sd("name"), ox.NamedNode(graph)),
        ]
    if config.service_allowlist:
        triples.append(ox.Triple(service, _sd("feature"), _sd("BasicFederatedQuery")))
        for allowed in config.service_allowlist:
            triples.append(ox.Triple(service, _qdkg("federationEndpoint"), ox.NamedNode(allowed)))
    triples += _limits(service, config)
    return triples


def _limits(service: ox.NamedNode, config: Config) -> list[ox.Triple]:
    timeout, rows, size = config.query_timeout, config.max_rows, config.max_query_bytes
    wall = timeout * WALL_FACTOR
    english = (
        f"Limits: a query may use at most {timeout:g} s of CPU time (time spent waiting for a "
        f"core while other queries run is not counted), and runs for at most {wall:g} s of "
        f"elapsed time whatever happens; past either it is stopped and the answer is 503, "
        f"saying which limit was reached; at most {size} bytes of query text (413 beyond); "
        f"at most {rows} result rows or "
        f"triples. A result cut at the row limit carries the HTTP headers "
        f"'{TRUNCATED_HEADER}: true' and '{ROW_LIMIT_HEADER}: {rows}'. SERVICE is refused unless "
        "its endpoint is allow-listed, and FROM / FROM NAMED / default-graph-uri / "
        "named-graph-uri must name graphs of this dataset."
    )
    chinese = (
        f"限制：每个查询最多使用 {timeout:g} 秒 CPU 时间（等待 CPU 的时间不计），且无论如何最长运行 "
        f"{wall:g} 秒（实际经过时间）；超过任一限制即被终止并返回 503，并说明是哪一个限制；"
        f"查询文本最多 {size} 字节"
        f"（超出返回 413）；结果最多 {rows} 行（或三元组）。"
        "结果在行数上限处被截断时，响应带有 HTTP 头"
        f"“{TRUNCATED_HEADER}: true”和“{ROW_LIMIT_HEADER}: {rows}”。除非端点在允许列表中，否则拒绝 "
        "SERVICE；FROM、FROM NAMED、default-graph-uri 和 named-graph-uri 只能指向本数据集中的图。"
    )
    return [
        ox.Triple(service, _qdkg("queryTimeLimit"), _typed(_decimal(timeout), "decimal")),
        ox.Triple(service, _qdkg("resultRowLimit"), _typed(rows, "integer")),
        ox.Triple(service, _qdkg("queryByteLimit"), _typed(size, "integer")),
        ox.Triple(service, _qdkg("truncationHeader"), ox.Literal(TRUNCATED_HEADER)),
        ox.Triple(service, _qdkg("rowLimitHeader"), ox.Literal(ROW_LIMIT_HEADER)),
        ox.Triple(service, _RDFS_COMMENT, ox.Literal(english, language="en")),
        ox.Triple(service, _RDFS_COMMENT, ox.Literal(chinese, language="zh")),
    ]
