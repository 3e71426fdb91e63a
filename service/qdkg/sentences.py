"""The article's sentences and paragraphs as NIF nodes, derived from the text, and each span linked to them.

Derived by the build (not curated): a sentence ends at 。！？ or a line break, a paragraph at a
line break. Each evidence span gets `nif:sentence` (the sentence its first character lies in)
and `qdkg:paragraph`, so "which sentence says this?" is one SPARQL pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from .namespaces import ARTICLE_TEXT, NIF, QDKG, QID

_SENTENCE = re.compile(r"[^。！？\n]+(?:[。！？]+[”’」』）)]*)?")
_PARAGRAPH = re.compile(r"[^\n]+")


def _segments(pattern: re.Pattern[str], text: str) -> Iterator[tuple[int, int]]:
    for match in pattern.finditer(text):
        begin, end = match.span()
        while begin < end and text[begin].isspace():
            begin += 1
        while end > begin and text[end - 1].isspace():
            end -= 1
        if end > begin:
            yield begin, end


def _node(graph: Graph, kind: str, cls: URIRef, text: str, begin: int, end: int) -> URIRef:
    node = QID[f"{kind}/{begin}-{end}"]
    graph.add((node, RDF.type, cls))
    graph.add((node, NIF.referenceContext, ARTICLE_TEXT))
    graph.add((node, NIF.beginIndex, Literal(begin, datatype=XSD.nonNegativeInteger)))
    graph.add((node, NIF.endIndex, Literal(end, datatype=XSD.nonNegativeInteger)))
    graph.add((node, NIF.anchorOf, Literal(text[begin:end])))
    return node


def text_structure(text: str, facts: Graph) -> Graph:
    """Sentence and paragraph nodes for `text`, and links from every span in `facts` to them."""
    graph = Graph()
    sentences = [(b, e, _node(graph, "sentence", NIF.Sentence, text, b, e))
                 for b, e in _segments(_SENTENCE, text)]
    paragraphs = [(b, e, _node(graph, "paragraph", NIF.Paragraph, text, b, e))
                  for b, e in _segments(_PARAGRAPH, text)]
    for b, e, sentence in sentences:
        for pb, pe, paragraph in paragraphs:
            if pb <= b and e <= pe:
                graph.add((sentence, QDKG.paragraph, paragraph))
    for span in set(facts.subjects(RDF.type, QDKG.TextSpan)):
        begin = facts.value(span, NIF.beginIndex)
        if begin is None:
            continue
        position = int(begin)
        for b, e, sentence in sentences:
            if b <= position < e:
                graph.add((span, NIF.sentence, sentence))
        for b, e, paragraph in paragraphs:
            if b <= position < e:
                graph.add((span, QDKG.paragraph, paragraph))
    return graph
