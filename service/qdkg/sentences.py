"""The article's sentences and paragraphs as NIF nodes, derived from the text, and each span linked to them.

Derived by the build (not curated): a sentence ends at 。！？ or a line break, a paragraph at a
line break. Each evidence span into the shipped article (`nif:referenceContext qid:text/article`)
gets `nif:sentence` (the sentence its first character lies in) and `qdkg:paragraph`, so "which
sentence says this?" is one SPARQL pattern. Spans of other texts are left alone: these sentences
are the shipped article's.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence

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


def _containing(segments: Sequence[tuple[int, int, URIRef]], begins: Sequence[int],
                position: int) -> URIRef | None:
    """The segment (sorted, not overlapping) that holds the character at `position`, if any."""
    index = bisect_right(begins, position) - 1
    if index >= 0 and position < segments[index][1]:
        return segments[index][2]
    return None


def text_structure(text: str, facts: Graph) -> Graph:
    """Sentence and paragraph nodes for `text`, and links to them from the spans in `facts`
    whose reference context is the shipped article text."""
    graph = Graph()
    sentences = [(b, e, _node(graph, "sentence", NIF.Sentence, text, b, e))
                 for b, e in _segments(_SENTENCE, text)]
    paragraphs = [(b, e, _node(graph, "paragraph", NIF.Paragraph, text, b, e))
                  for b, e in _segments(_PARAGRAPH, text)]
    sentence_begins = [b for b, _, _ in sentences]
    paragraph_begins = [b for b, _, _ in paragraphs]
    for b, e, sentence in sentences:
        index = bisect_right(paragraph_begins, b) - 1
        if index >= 0 and e <= paragraphs[index][1]:
            graph.add((sentence, QDKG.paragraph, paragraphs[index][2]))
    for span in set(facts.subjects(NIF.referenceContext, ARTICLE_TEXT)):
        if (span, RDF.type, QDKG.TextSpan) not in facts:
            continue
        begin = facts.value(span, NIF.beginIndex)
        if begin is None:
            continue
        position = int(begin)
        sentence = _containing(sentences, sentence_begins, position)
        if sentence is not None:
            graph.add((span, NIF.sentence, sentence))
        paragraph = _containing(paragraphs, paragraph_begins, position)
        if paragraph is not None:
            graph.add((span, QDKG.paragraph, paragraph))
    return graph
