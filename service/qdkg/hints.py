"""What to change to satisfy a shape: a hint per SHACL constraint component, in zh and en,
filled in from the shape's own parameters (the count, the datatype, the class, the list)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rdflib import Graph, Literal
from rdflib.collection import Collection
from rdflib.namespace import RDFS, SH
from rdflib.term import Node

if TYPE_CHECKING:
    from .report import Result

_HINTS: dict[str, tuple[str, str]] = {
    "MinCount": ("Add {missing} value(s) for {path} (at least {minCount} needed).",
                 "为 {path} 补充 {missing} 个值（至少需要 {minCount} 个）。"),
    "MaxCount": ("Keep at most {maxCount} value(s) of {path}; remove the others.",
                 "{path} 最多保留 {maxCount} 个值，删除其余的。"),
    "Datatype": ("Write the value of {path} as {datatype}, e.g. \"400\"^^{datatype}.",
                 "将 {path} 的值写成 {datatype} 类型，例如 \"400\"^^{datatype}。"),
    "NodeKind": ("Give {path} a value of kind {nodeKind} (an IRI in <...>, not a quoted string).",
                 "{path} 的值须为 {nodeKind}（用 <...> 写的 IRI，而非带引号的字符串）。"),
    "Class": ("Point {path} at a resource of type {class} (it must have rdf:type {class}, "
              "directly or by inference).",
              "让 {path} 指向类型为 {class} 的资源（直接或经推理具有 rdf:type {class}）。"),
    "In": ("Use one of: {in}.", "取值须为以下之一：{in}。"),
    "LanguageIn": ("Tag the text of {path} with one of the languages {languageIn}.",
                   "为 {path} 的文本加上语言标记，限于 {languageIn}。"),
    "MinLength": ("Make the value of {path} at least {minLength} character(s) long.",
                  "{path} 的值至少应有 {minLength} 个字符。"),
    "MaxLength": ("Shorten the value of {path} to at most {maxLength} character(s).",
                  "{path} 的值最多 {maxLength} 个字符。"),
    "Pattern": ("Make the value of {path} match the pattern {pattern}.",
                "{path} 的值须匹配模式 {pattern}。"),
    "MinInclusive": ("Use a value of at least {minInclusive} for {path}.",
                     "{path} 的值应不小于 {minInclusive}。"),
    "MaxInclusive": ("Use a value of at most {maxInclusive} for {path}.",
                     "{path} 的值应不大于 {maxInclusive}。"),
    "MinExclusive": ("Use a value greater than {minExclusive} for {path}.",
                     "{path} 的值应大于 {minExclusive}。"),
    "MaxExclusive": ("Use a value less than {maxExclusive} for {path}.",
                     "{path} 的值应小于 {maxExclusive}。"),
    "LessThan": ("Make {path} smaller than {lessThan}.", "使 {path} 小于 {lessThan}。"),
    "UniqueLang": ("Keep one value of {path} per language; move extra names to skos:altLabel.",
                   "{path} 每种语言只保留一个值；其他名称放入 skos:altLabel。"),
    "HasValue": ("Add {hasValue} as a value of {path}.", "为 {path} 添加值 {hasValue}。"),
    "Closed": ("Remove {path}: the shape does not allow it here.",
               "删除 {path}：该约束不允许此属性。"),
    "QualifiedMinCount": ("Add a value of {path} {qualified} (at least {qualifiedMinCount}).",
                          "为 {path} 添加{qualified}的值（至少 {qualifiedMinCount} 个）。"),
    "QualifiedMaxCount": ("Keep at most {qualifiedMaxCount} value(s) of {path} {qualified}.",
                          "{path} 中{qualified}的值最多保留 {qualifiedMaxCount} 个。"),
    "Or": ("Make the value satisfy one of: {or}.", "使取值满足以下之一：{or}。"),
    "Node": ("Make the value conform to {node}.", "使取值符合 {node}。"),
    "Equals": ("Make {path} equal to {equals}.", "使 {path} 等于 {equals}。"),
    "Disjoint": ("Make {path} share no value with {disjoint}.",
                 "使 {path} 与 {disjoint} 无共同值。"),
}
_GOAL = ("Change the data so that: {goal}.", "修改数据，使其满足：{goal}。")


def hint_for(result: Result, shapes: Graph, labels: dict[Node, dict[str, str]], lang: str) -> str:
    from .report import compact, path_text

    name = compact(result.component).removeprefix("sh:").removesuffix("ConstraintComponent")
    zh = 1 if lang == "zh" else 0
    shape = result.shape
    path = result.path if result.path is not None else shapes.value(shape, SH.path)
    values: dict[str, object] = {"path": path_text(shapes, path) if path is not None else "it"}
    for key in ("minCount", "maxCount", "minLength", "maxLength", "pattern", "minInclusive",
                "maxInclusive", "minExclusive", "maxExclusive", "qualifiedMinCount",
                "qualifiedMaxCount"):
        value = shapes.value(shape, SH[key])
        if value is not None:
            values[key] = str(value)
    for key in ("datatype", "class", "nodeKind", "lessThan", "hasValue", "node", "equals",
                "disjoint"):
        value = shapes.value(shape, SH[key])
        if value is not None:
            values[key] = _named(value, labels, lang, compact)
    for key in ("in", "languageIn"):
        value = shapes.value(shape, SH[key])
        if value is not None:
            values[key] = ", ".join(
                str(v) if isinstance(v, Literal) else compact(v) for v in Collection(shapes, value))
    alternatives = shapes.value(shape, SH["or"])
    if alternatives is not None:
        values["or"] = "; ".join(_describe(shapes, alt, labels, lang, compact)
                                 for alt in Collection(shapes, alternatives))
    qualified = shapes.value(shape, SH.qualifiedValueShape)
    if qualified is not None:
        values["qualified"] = _describe(shapes, qualified, labels, lang, compact, qualifier=True)
    if "minCount" in values:
        values["missing"] = values["minCount"]
    template = _HINTS.get(name)
    if template is not None:
        try:
            return template[zh].format(**values)
        except KeyError:
            pass
    goal = _label(shapes, shape, lang)
    return _GOAL[zh].format(goal=goal) if goal else ""


def _label(graph: Graph, node: Node, lang: str) -> str:
    fallback = ""
    for literal in graph.objects(node, RDFS.label):
        if isinstance(literal, Literal):
            if literal.language == lang:
                return str(literal)
            fallback = fallback or str(literal)
    return fallback


def _named(node: Node, labels: dict[Node, dict[str, str]], lang: str,
           compact: Callable[[Node], str]) -> str:
    label = labels.get(node, {}).get(lang)
    return f"{compact(node)} ({label})" if label else compact(node)


def _describe(shapes: Graph, shape: Node, labels: dict[Node, dict[str, str]], lang: str,
              compact: Callable[[Node], str], qualifier: bool = False) -> str:
    """A one-phrase reading of a small nested shape: a class, a datatype or languages."""
    zh = lang == "zh"
    cls = shapes.value(shape, SH["class"])
    if cls is not None:
        return _named(cls, labels, lang, compact)
    datatype = shapes.value(shape, SH.datatype)
    if datatype is not None:
        return compact(datatype)
    languages = shapes.value(shape, SH.languageIn)
    if languages is not None:
        tags = ", ".join("@" + str(v) for v in Collection(shapes, languages))
        if qualifier:
            return f"标记为 {tags} " if zh else f"tagged {tags}"
        return tags
    return compact(shape)
