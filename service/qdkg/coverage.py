"""Which numbers in the article are not yet evidence of any statement: `python -m qdkg.coverage`.

A number is an Arabic numeral (with its decimals) or a Chinese numeral that states a quantity,
a rank or a share (八大, 近千亿元, 提前半年, 三分之一, 第二, 居十区市首位). It is covered when it lies
inside a span that is the evidence of a quantitative statement, or when the reviewed exclusion
files (graph/coverage-exclusions/*.tsv: begin, end, text, reason) list it as not a quantity.
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import RDF

from .namespaces import NIF, QDKG
from .paths import GRAPH_DIR, article_text

_CN_DIGIT = "一二三四五六七八九十两百千万亿"
NUMBER = re.compile(
    r"\d+(?:\.\d+)?"
    rf"|第[{_CN_DIGIT}]+"
    rf"|[{_CN_DIGIT}]+分之[{_CN_DIGIT}]+"
    rf"|(?<![\d.])[{_CN_DIGIT}]+(?!个个|大批)(?=大|个|条|项|名|年|级|位|家|处|区市|镇街|亿|万|千|组|套|支)"
    r"|(?<!上)半年|首位|首家|首批|近千"
)
EXCLUSIONS_DIR = GRAPH_DIR / "coverage-exclusions"


@dataclass(frozen=True)
class Number:
    begin: int
    end: int
    text: str


@dataclass(frozen=True)
class Exclusion:
    begin: int
    end: int
    text: str
    reason: str
    source: str


def find_numbers(text: str) -> list[Number]:
    return [Number(m.start(), m.end(), m.group()) for m in NUMBER.finditer(text)]


def load_exclusions(directory: Path = EXCLUSIONS_DIR) -> list[Exclusion]:
    found = []
    for path in sorted(directory.glob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle, delimiter="\t"):
                if not row or row[0].startswith("#") or not row[0].strip().isdigit():
                    continue
                begin, end, text, reason = int(row[0]), int(row[1]), row[2], row[3].strip()
                found.append(Exclusion(begin, end, text, reason, path.name))
    return found


def statement_spans(graph: Graph) -> list[tuple[int, int]]:
    spans = []
    for statement in graph.subjects(RDF.type, QDKG.QuantitativeStatement):
        for span in graph.objects(statement, QDKG.evidence):
            begin, end = graph.value(span, NIF.beginIndex), graph.value(span, NIF.endIndex)
            if begin is not None and end is not None:
                spans.append((int(begin), int(end)))
    return spans


def uncovered(graph: Graph, text: str, exclusions: list[Exclusion]) -> list[Number]:
    spans = statement_spans(graph)
    excluded = {(e.begin, e.end) for e in exclusions}
    return [
        n
        for n in find_numbers(text)
        if (n.begin, n.end) not in excluded
        and not any(b <= n.begin and n.end <= e for b, e in spans)
    ]


def load_facts() -> Graph:
    graph = Graph()
    for path in sorted(GRAPH_DIR.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def main() -> int:
    text = article_text()
    missing = uncovered(load_facts(), text, load_exclusions())
    for n in missing:
        context = text[max(0, n.begin - 12) : n.end + 12].replace("\n", "⏎")
        print(f"{n.begin}\t{n.end}\t{n.text}\t…{context}…")
    print(f"{len(missing)} uncovered of {len(find_numbers(text))} numbers", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
