"""Helpers for the HTML pages: language choice, labels, numbers in human form, the sentence and
paragraph around a quoted span, and the interface's words in zh and en. No Flask, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from .namespaces import PREFIXES

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"  # the article's language, for clients that state no preference
# The build's rule too (sentences.py), so a page shows the sentence the graph links a span to.
_SENTENCE_END = "。！？"
_CLOSERS = "”’」』）)\"'"


def choose_language(explicit: str | None, accept_language: str | None) -> str:
    """`?lang=` wins; then the best of zh/en in Accept-Language (zh-CN counts as zh)."""
    if explicit in LANGUAGES:
        return explicit
    accept = parse_accept_header(accept_language or "", LanguageAccept)
    return accept.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def compact(iri: str) -> str:
    """`qid:district/chengyang` for an IRI in a known namespace, else the IRI itself."""
    best = ""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(PREFIXES.get(best, "")):
            best = prefix
    return f"{best}:{iri[len(PREFIXES[best]):]}" if best else iri


def other_language(lang: str) -> str:
    return "en" if lang == "zh" else "zh"


def pick(values: Mapping[str, str], lang: str) -> str | None:
    """The value in `lang`, else in the other language, else one without a language tag."""
    for key in (lang, other_language(lang), ""):
        if values.get(key):
            return values[key]
    return next(iter(values.values()), None)


def format_decimal(lexical: str) -> str:
    """An xsd:decimal as people write it: 40000000000 → 40,000,000,000; 12.50 → 12.5."""
    try:
        number = Decimal(lexical)
    except InvalidOperation:
        return lexical
    if number == number.to_integral_value():
        return f"{number.to_integral_value():,}"
    text = format(number.normalize(), "f")
    whole, _, fraction = text.partition(".")
    return f"{Decimal(whole):,}.{fraction}" if whole not in ("", "-") else text


# unit slug -> (zh pattern, en pattern); {n} is the formatted number.
_UNIT_PATTERNS: dict[str, tuple[str, str]] = {
    "cny": ("{n} 元", "{n} CNY"),
    "square-metre": ("{n} 平方米", "{n} m²"),
    "mu": ("{n} 亩", "{n} mu"),
    "percent": ("{n}%", "{n}%"),
    "percentage-point": ("{n} 个百分点", "{n} percentage points"),
    "number": ("{n}", "{n}"),
    "day": ("{n} 天", "{n} days"),
    "month": ("{n} 个月", "{n} months"),
    "year": ("{n} 年", "{n} years"),
    "rank": ("第 {n} 名", "No. {n}"),
    "fraction": ("{n}", "{n}"),
}


def human_value(lexical: str, unit_iri: str | None, unit_label: str | None, lang: str) -> str:
    """A normalised value with its unit, e.g. "40,000,000,000 CNY" or "154%"."""
    number = format_decimal(lexical)
    slug = unit_iri.rsplit("/", 1)[-1] if unit_iri else None
    if slug in _UNIT_PATTERNS:
        return _UNIT_PATTERNS[slug][0 if lang == "zh" else 1].format(n=number)
    return f"{number} {unit_label}" if unit_label else number


@dataclass(frozen=True)
class Quote:
    """A span in its paragraph: text before the sentence, the sentence around the quote, after."""

    before: str
    sentence_before: str
    quote: str
    sentence_after: str
    after: str

    @property
    def sentence(self) -> str:
        return self.sentence_before + self.quote + self.sentence_after


def quote_in_context(text: str, begin: int, end: int) -> Quote | None:
    """Cut the paragraph and sentence holding text[begin:end] (offsets are code points)."""
    if not 0 <= begin < end <= len(text):
        return None
    para_start = text.rfind("\n", 0, begin) + 1
    para_end = text.find("\n", end)
    para_end = len(text) if para_end == -1 else para_end
    sent_start = para_start
    for i in range(begin - 1, para_start - 1, -1):
        if text[i] in _SENTENCE_END:
            sent_start = i + 1
            while sent_start < begin and text[sent_start] in _CLOSERS:
                sent_start += 1
            break
    sent_end = para_end
    for i in range(end, para_end):
        if text[i] in _SENTENCE_END:
            sent_end = i + 1
            while sent_end < para_end and text[sent_end] in _CLOSERS + _SENTENCE_END:
                sent_end += 1
            break
    return Quote(
        before=text[para_start:sent_start],
        sentence_before=text[sent_start:begin],
        quote=text[begin:end],
        sentence_after=text[end:sent_end],
        after=text[sent_end:para_end],
    )


UI: dict[str, tuple[str, str]] = {
    "site": ("青岛城市更新知识图谱", "Qingdao urban renewal knowledge graph"),
    "home": ("首页", "Home"),
    "query": ("查询", "Query"),
    "ontology": ("本体", "Ontology"),
    "sparql": ("SPARQL 端点", "SPARQL"),
    "language": ("语言", "Language"),
    "types": ("类型", "Type"),
    "properties": ("属性", "Properties"),
    "facts": ("数据", "Figures"),
    "inbound": ("指向此处的链接", "Links to this resource"),
    "evidence": ("原文出处", "Where the article says so"),
    "inferred": ("推理得出", "inferred"),
    "inferred_note": (
        "标有“推理得出”的陈述由 OWL 2 RL 推理得出（图 qg:inferred），并非原文直接陈述。",
        "Facts marked “inferred” follow by OWL 2 RL reasoning (graph qg:inferred); "
        "the article does not state them directly.",
    ),
    "formats": ("其他格式", "Other formats"),
    "query_this": ("查询此资源", "Query this"),
    "stated": ("原文数值", "As stated"),
    "normalised": ("规范化数值", "Normalised"),
    "measure": ("指标", "Measure"),
    "status": ("状态", "Status"),
    "period": ("时期", "Period"),
    "qualifier": ("限定", "Qualifier"),
    "about": ("对象", "About"),
    "statement": ("陈述", "Statement"),
    "paragraph": ("所在段落", "Paragraph"),
    "iri": ("IRI", "IRI"),
    "more_inbound": ("仅显示前 {n} 条。", "Only the first {n} are shown."),
    "districts": ("区（市）", "Districts"),
    "people": ("人物", "People"),
    "initiatives": ("行动与举措", "Programmes and initiatives"),
    "projects": ("项目", "Projects"),
    "project_groups": ("项目群", "Groups of projects"),
    "organisations": ("机构", "Organisations"),
    "home_intro": (
        "本图谱收录《青岛日报》/观海新闻一篇关于城市更新建设的访谈报道中的人物、地点、项目与数据，"
        "每个数字都附有原文出处。",
        "People, places, projects and figures from one Qingdao Daily / Guanhai News report on "
        "urban renewal; every figure links to the sentence it comes from.",
    ),
    "discover": ("数据集", "The dataset"),
    "void": ("VoID 数据集描述", "VoID description"),
    "dumps": ("完整数据下载", "Full dumps"),
    "not_found": ("未找到", "Not found"),
    "not_found_text": ("本图谱中没有关于以下 IRI 的任何数据：", "The graph has nothing about"),
    "did_you_mean": ("您要找的是否是：", "Did you mean:"),
    "go_home": (
        "返回首页浏览，或使用查询页面搜索。",
        "Browse from the home page or search on the query page.",
    ),
    "classes": ("类", "Classes"),
    "object_properties": ("对象属性", "Object properties"),
    "datatype_properties": ("数据属性", "Datatype properties"),
    "annotation_properties": ("注释属性", "Annotation properties"),
    "individuals": ("个体（计量单位等）", "Individuals (units and others)"),
    "imported": ("引入的外部术语", "Terms from other vocabularies"),
    "definition": ("定义", "Definition"),
    "comment": ("说明", "Comment"),
    "subclass_of": ("父类", "Subclass of"),
    "superclass_of": ("子类", "Superclass of"),
    "subproperty_of": ("父属性", "Subproperty of"),
    "superproperty_of": ("子属性", "Superproperty of"),
    "inverse_of": ("逆属性", "Inverse of"),
    "domain": ("定义域", "Domain"),
    "range": ("值域", "Range"),
    "in_domain_of": ("作为定义域的属性", "In the domain of"),
    "in_range_of": ("作为值域的属性", "In the range of"),
    "characteristics": ("特性", "Characteristics"),
    "matches": ("对应外部术语", "Matches"),
    "shapes": ("约束形状（SHACL）", "Constrained by (SHACL)"),
    "example": ("图谱中的实例", "Example from the graph"),
    "namespaces": ("命名空间", "Namespaces"),
    "version": ("版本", "Version"),
    "license": ("许可", "License"),
    "contents": ("目录", "Contents"),
    "none": ("无", "none"),
    "severity": ("严重程度", "Severity"),
}


def ui(key: str, lang: str) -> str:
    zh, en = UI[key]
    return zh if lang == "zh" else en
