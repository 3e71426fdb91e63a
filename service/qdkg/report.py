"""A SHACL validation report made readable: results grouped by resource, with labels, messages in
the reader's language and a hint on what to change. JSON for programs, text for the terminal;
the web layer renders the same structure as HTML. No Flask here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from .hints import hint_for
from .namespaces import PREFIXES

SEVERITY_ORDER: dict[Node, int] = {SH.Violation: 0, SH.Warning: 1, SH.Info: 2}
LANGUAGES = ("en", "zh")


@dataclass
class Result:
    focus: Node
    path: Node | None
    shape: Node
    component: Node
    severity: Node
    value: Node | None
    messages: dict[str, str]
    hints: dict[str, str]


@dataclass
class Resource:
    node: Node
    results: list[Result] = field(default_factory=list)


@dataclass
class Report:
    conforms: bool
    resources: list[Resource]
    graph: Graph  # the sh:ValidationReport, with only the reported results
    labels: dict[Node, dict[str, str]]
    shapes: Graph
    blank_labels: dict[URIRef, str] = field(default_factory=dict)
    stored: set[Node] = field(default_factory=set)  # resources the store describes (linkable)

    def counts(self) -> dict[str, int]:
        counts = {"violations": 0, "warnings": 0, "infos": 0}
        names: dict[Node, str] = {SH.Violation: "violations", SH.Warning: "warnings",
                                  SH.Info: "infos"}
        for resource in self.resources:
            for result in resource.results:
                counts[names.get(result.severity, "infos")] += 1
        return counts

    def label(self, node: Node | None, lang: str) -> str:
        if node is None:
            return ""
        if isinstance(node, URIRef) and node in self.blank_labels:
            return "_:" + self.blank_labels[node]
        labels = self.labels.get(node, {})
        return labels.get(lang) or labels.get("en") or labels.get("zh") or labels.get("") or ""

    def shape_label(self, shape: Node, lang: str) -> str:
        labels = _messages(self.shapes.objects(shape, RDFS.label))
        return labels.get(lang) or labels.get("en") or ""

    def name(self, node: Node | None) -> str:
        """How to write a term compactly: a CURIE, _:label, a quoted literal, a path."""
        if node is None:
            return ""
        if isinstance(node, URIRef) and node in self.blank_labels:
            return "_:" + self.blank_labels[node]
        if isinstance(node, BNode) and (node, None, None) in self.graph:
            return path_text(self.graph, node)
        if isinstance(node, BNode) and (node, None, None) in self.shapes:
            return path_text(self.shapes, node)
        return compact(node)

    def to_json(self, lang: str = "en") -> dict:
        return {
            "conforms": self.conforms,
            "language": lang,
            "counts": self.counts(),
            "resources": [
                {
                    "node": self.term(resource.node),
                    "label": self.label(resource.node, lang),
                    "results": [self._result_json(r, lang) for r in resource.results],
                }
                for resource in self.resources
            ],
        }

    def _result_json(self, result: Result, lang: str) -> dict:
        return {
            "focusNode": self.term(result.focus),
            "resultPath": self.name(result.path) if result.path is not None else None,
            "resultPathIri": str(result.path) if isinstance(result.path, URIRef) else None,
            "pathLabel": self.label(result.path, lang),
            "sourceShape": self.term(result.shape),
            "sourceConstraintComponent": str(result.component),
            "resultSeverity": str(result.severity),
            "severity": compact(result.severity).removeprefix("sh:"),
            "value": self.term(result.value) if result.value is not None else None,
            "valueLabel": self.label(result.value, lang),
            "message": pick(result.messages, lang),
            "messages": result.messages,
            "hint": pick(result.hints, lang),
            "hints": result.hints,
        }

    def term(self, node: Node | None) -> dict | None:
        """A term as in the SPARQL 1.1 JSON results format."""
        if node is None:
            return None
        if isinstance(node, URIRef) and node in self.blank_labels:
            return {"type": "bnode", "value": self.blank_labels[node]}
        if isinstance(node, URIRef):
            return {"type": "uri", "value": str(node)}
        if isinstance(node, BNode):
            return {"type": "bnode", "value": str(node)}
        term: dict = {"type": "literal", "value": str(node)}
        if isinstance(node, Literal) and node.language:
            term["xml:lang"] = node.language
        elif isinstance(node, Literal) and node.datatype:
            term["datatype"] = str(node.datatype)
        return term

    def to_text(self, lang: str = "en") -> str:
        counts = self.counts()
        zh = lang == "zh"
        if zh:
            head = "符合约束" if self.conforms else "不符合约束"
            lines = [f"{head}：{counts['violations']} 个违规，{counts['warnings']} 个警告，"
                     f"{counts['infos']} 个提示"]
        else:
            head = "conforms" if self.conforms else "does not conform"
            lines = [f"{head}: {counts['violations']} violation(s), {counts['warnings']} "
                     f"warning(s), {counts['infos']} info(s)"]
        for resource in self.resources:
            label = self.label(resource.node, lang)
            lines.append("")
            lines.append(f"{label} <{resource.node}>" if label else self.name(resource.node))
            for r in resource.results:
                severity = compact(r.severity).removeprefix("sh:")
                where = f" {self.name(r.path)}" if r.path is not None else ""
                lines.append(f"  [{severity}]{where}: {pick(r.messages, lang)}")
                if r.value is not None:
                    lines.append(("    值：" if zh else "    value: ") + self.name(r.value))
                hint = pick(r.hints, lang)
                if hint:
                    lines.append(("    修改建议：" if zh else "    what to change: ") + hint)
                lines.append(("    约束：" if zh else "    shape: ") + self.name(r.shape)
                             + f" ({compact(r.component)})")
        return "\n".join(lines) + "\n"


def pick(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts.get("en") or texts.get("") or next(iter(texts.values()), "")


def compact(node: Node) -> str:
    if isinstance(node, Literal):
        if node.language:
            return f'"{node}"@{node.language}'
        if node.datatype is not None:
            return f'"{node}"^^{compact(node.datatype)}'
        return f'"{node}"'
    if isinstance(node, BNode):
        return f"_:{node}"
    text = str(node)
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if text.startswith(namespace) and "/" not in text[len(namespace):]:
            return f"{prefix}:{text[len(namespace):]}"
    if text.startswith(PREFIXES["qid"]):
        return "qid:" + text[len(PREFIXES["qid"]):]
    return f"<{text}>"


def path_text(graph: Graph, path: Node) -> str:
    """A SHACL property path in SPARQL property-path syntax."""
    if isinstance(path, URIRef):
        return compact(path)
    if (path, RDF.first, None) in graph:
        return "/".join(path_text(graph, p) for p in Collection(graph, path))
    for predicate, template in ((SH.inversePath, "^{}"), (SH.zeroOrMorePath, "{}*"),
                                (SH.oneOrMorePath, "{}+"), (SH.zeroOrOnePath, "{}?")):
        inner = graph.value(path, predicate)
        if inner is not None:
            return template.format(path_text(graph, inner))
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(path_text(graph, p) for p in Collection(graph, alternatives)) + ")"
    return compact(path)


def build_report(report: Graph, shapes: Graph, labels: dict[Node, dict[str, str]],
                 blank_labels: dict[URIRef, str] | None = None,
                 stored: set[Node] | None = None) -> Report:
    resources: dict[Node, Resource] = {}
    for node in report.subjects(RDF.type, SH.ValidationResult):
        focus = _required(report.value(node, SH.focusNode))
        shape = _required(report.value(node, SH.sourceShape))
        result = Result(
            focus=focus,
            path=report.value(node, SH.resultPath),
            shape=shape,
            component=_required(report.value(node, SH.sourceConstraintComponent)),
            severity=report.value(node, SH.resultSeverity) or SH.Violation,
            value=report.value(node, SH.value),
            messages=_messages(report.objects(node, SH.resultMessage))
            or _messages(shapes.objects(shape, SH.message)),
            hints={},
        )
        result.hints = {lang: hint_for(result, shapes, labels, lang) for lang in LANGUAGES}
        resources.setdefault(focus, Resource(focus)).results.append(result)
    for resource in resources.values():
        resource.results.sort(key=lambda r: (SEVERITY_ORDER.get(r.severity, 3), str(r.path),
                                             str(r.shape), str(r.value)))
    ordered = sorted(resources.values(), key=lambda r: (
        min(SEVERITY_ORDER.get(x.severity, 3) for x in r.results), str(r.node)))
    conforms = not any(r.severity == SH.Violation for x in ordered for r in x.results)
    return Report(conforms, ordered, report, labels, shapes, blank_labels or {}, stored or set())


def _required(node: Node | None) -> Node:
    if node is None:
        raise ValueError("a SHACL validation result lacks a required property")
    return node


def _messages(literals: Iterable[Node]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for literal in literals:
        if isinstance(literal, Literal):
            texts.setdefault(literal.language or "", str(literal))
    return texts


def nodes_to_label(report: Graph) -> set[Node]:
    """The IRIs a reader would want named: focus nodes, values, paths."""
    wanted: set[Node] = set()
    for node in report.subjects(RDF.type, SH.ValidationResult):
        for predicate in (SH.focusNode, SH.value, SH.resultPath):
            value = report.value(node, predicate)
            if isinstance(value, URIRef):
                wanted.add(value)
    return wanted


def labels_from(graphs: Iterable[Graph], nodes: Iterable[Node]) -> dict[Node, dict[str, str]]:
    labels: dict[Node, dict[str, str]] = {}
    graphs = list(graphs)
    for node in nodes:
        for graph in graphs:
            for literal in graph.objects(node, RDFS.label):
                if isinstance(literal, Literal):
                    labels.setdefault(node, {}).setdefault(literal.language or "", str(literal))
    return labels
