"""Submissions for the stewardship tests: new facts placed among the shared IRIs of
docs/modelling.md, with evidence spans computed from the shipped article (never hard-coded)."""

from __future__ import annotations

from qdkg.paths import article_text

QID = "https://w3id.org/qdkg/id/"
ARTICLE_GRAPH = "https://w3id.org/qdkg/graph/article"
PREFIXES = """@base <https://w3id.org/qdkg/id/> .
@prefix qdkg: <https://w3id.org/qdkg/ontology#> .
@prefix nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def span(phrase: str = "完成投资400亿元") -> tuple[str, str]:
    """(IRI path, Turtle) of the text span of the first occurrence of `phrase`."""
    text = article_text()
    begin = text.index(phrase)
    end = begin + len(phrase)
    path = f"span/{begin}-{end}"
    turtle = f"""<{path}> a qdkg:TextSpan ;
    nif:referenceContext <text/article> ;
    nif:beginIndex {begin} ;
    nif:endIndex {end} ;
    nif:anchorOf "{phrase}" .
"""
    return path, turtle


def road(slug: str, district: str = "district/chengyang", labels: bool = True,
         evidence: bool = True) -> str:
    """A new road project in an existing district, described as the shapes want it."""
    span_path, span_turtle = span()
    lines = [f"<project/{slug}> a qdkg:RoadProject ;"]
    if labels:
        lines.append(f'    rdfs:label "测试道路{slug}"@zh , "Test road {slug}"@en ;')
    lines.append("    qdkg:underInitiative <initiative/urban-renewal-three-year-campaign> ;")
    if evidence:
        lines.append(f"    qdkg:evidence <{span_path}> ;")
    lines.append(f"    qdkg:locatedIn <{district}> .")
    return "\n".join(lines) + "\n" + (span_turtle if evidence else "")


def statement(slug: str, about: str, value: str = '"100"^^xsd:decimal') -> str:
    span_path, span_turtle = span()
    return f"""<statement/{slug}> a qdkg:QuantitativeStatement ;
    rdfs:label "测试陈述{slug}"@zh , "Test statement {slug}"@en ;
    qdkg:about <{about}> ;
    qdkg:measure <measure/investment-completed> ;
    qdkg:value {value} ;
    qdkg:unit <unit/cny> ;
    qdkg:statedValue "100元" ;
    qdkg:status <status/achieved> ;
    qdkg:evidence <{span_path}> .
{span_turtle}"""


def turtle(*parts: str) -> bytes:
    return (PREFIXES + "\n".join(parts)).encode("utf-8")


def insert_data(body: str) -> str:
    """A SPARQL INSERT DATA into the article graph, `body` in Turtle syntax without prefixes."""
    return ("PREFIX qdkg: <https://w3id.org/qdkg/ontology#>\n"
            "PREFIX nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#>\n"
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
            f"BASE <{QID}>\n"
            f"INSERT DATA {{ GRAPH <{ARTICLE_GRAPH}> {{ {body} }} }}")
