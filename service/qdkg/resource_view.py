"""View models for the HTML pages of resources and the home page, built from a Description.

No Flask: the web layer passes `href` (an IRI to the URL a reader should follow) and
`text_of` (a NIF context IRI to its text, for cutting sentences out of the article).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import pyoxigraph as ox

from .describe import (
    EVIDENCE,
    FACT,
    INBOUND,
    INBOUND_LIMIT,
    OWN,
    RDFS_LABEL,
    Description,
    Row,
    select,
    value_of,
)
from .namespaces import NIF, QDKG, sparql_prefixes
from .pages import Quote, compact, format_decimal, human_value, pick, quote_in_context
from .store import Store

Href = Callable[[str], str]
TextOf = Callable[[str], "str | None"]

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_NUMERIC = {_XSD + t for t in ("decimal", "integer", "nonNegativeInteger", "int", "double")}
_HIDDEN = {RDFS_LABEL, RDF_TYPE, str(NIF.isString)}
# Key facts first: what a statement says, who holds what, where things are, what they serve.
_ORDER = [
    str(QDKG[name])
    for name in (
        "about measure value unit statedValue qualifier status period rankWithin rankOutOf "
        "comparedWith holdsPost postIn governs locatedIn contains partOf hasPart memberOf "
        "hasMember underInitiative undertakenBy projectStatus headline author publisher "
        "inSeries interviewee caption depicts defectKind evidence"
    ).split()
]
_STATUS_ORDER = "achieved in-progress target planned rate rank growth".split()


@dataclass
class Link:
    iri: str
    label: str
    href: str
    inferred: bool = False


@dataclass
class Value:
    link: Link | None = None
    text: str | None = None
    lang: str | None = None
    datatype: str | None = None
    inferred: bool = False


@dataclass
class Group:
    predicate: Link
    values: list[Value]


@dataclass
class Fact:
    statement: Link
    stated: str | None
    human: str | None
    measure: Link | None
    status: Link | None
    period: Link | None
    qualifier: Link | None
    quotes: list[Quote]


@dataclass
class FactGroup:
    measure: Link | None
    facts: list[Fact]


@dataclass
class ResourcePage:
    iri: str
    compact: str
    title: str
    subtitle: str | None
    kind: str
    types: list[Link]
    statement: Fact | None
    quotes: list[Quote]
    text: str | None
    facts: list[FactGroup]
    properties: list[Group]
    inbound: list[Group]
    inbound_limit: int | None  # set when only the first so many inbound links are shown
    has_inferred: bool
    query: str = field(default="")


class _Names:
    """Labels of every IRI the description mentions, by language."""

    def __init__(self, rows: list[Row]) -> None:
        self.labels: dict[str, dict[str, str]] = defaultdict(dict)
        self.quotes: dict[str, str] = {}
        for row in rows:
            q = row.quad
            if q.predicate.value == RDFS_LABEL and isinstance(q.object, ox.Literal):
                self.labels[value_of(q.subject)][q.object.language or ""] = q.object.value
            elif q.predicate.value == str(NIF.anchorOf):
                self.quotes[value_of(q.subject)] = f"“{value_of(q.object)}”"

    def name(self, iri: str, lang: str) -> str:
        """Its label in `lang`; a text span is named by its quote; anything else by its IRI."""
        return pick(self.labels.get(iri, {}), lang) or self.quotes.get(iri) or compact(iri)


def _by_subject(rows: list[Row]) -> dict[str, dict[str, list[Row]]]:
    table: dict[str, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        table[value_of(row.quad.subject)][row.quad.predicate.value].append(row)
    return table


def _first(props: dict[str, list[Row]], predicate: object) -> ox.NamedNode | ox.Literal | None:
    rows = props.get(str(predicate), [])
    return rows[0].quad.object if rows else None  # type: ignore[return-value]


def build_resource_page(
    description: Description, lang: str, href: Href, text_of: TextOf
) -> ResourcePage:
    iri = description.iri.value
    names = _Names(description.rows)

    def link(node: ox.NamedNode, inferred: bool = False) -> Link:
        return Link(node.value, names.name(node.value, lang), href(node.value), inferred)

    own = [r for r in description.part(OWN) if isinstance(r.quad.subject, ox.NamedNode)]
    own_props = _by_subject(own).get(iri, {})
    spans = _by_subject(description.part(EVIDENCE, FACT, OWN))

    def quotes_of(span_iris: list[str]) -> list[Quote]:
        found = []
        for span in sorted(set(span_iris), key=_span_start):
            props = spans.get(span, {})
            begin, end = _first(props, NIF.beginIndex), _first(props, NIF.endIndex)
            context = _first(props, NIF.referenceContext)
            text = text_of(context.value) if isinstance(context, ox.NamedNode) else None
            if text is not None and begin is not None and end is not None:
                quote_ = quote_in_context(text, int(begin.value), int(end.value))
                if quote_ is not None:
                    found.append(quote_)
        return found

    def fact(statement: str, props: dict[str, list[Row]]) -> Fact:
        value, unit = _first(props, QDKG.value), _first(props, QDKG.unit)
        stated = _first(props, QDKG.statedValue)

        def ref(predicate: object) -> Link | None:
            node = _first(props, predicate)
            return link(node) if isinstance(node, ox.NamedNode) else None

        human = None
        if value is not None:
            unit_iri = unit.value if isinstance(unit, ox.NamedNode) else None
            unit_label = names.name(unit_iri, lang) if unit_iri else None
            human = human_value(value.value, unit_iri, unit_label, lang)
        evidence = [value_of(r.quad.object) for r in props.get(str(QDKG.evidence), [])]
        return Fact(
            link(ox.NamedNode(statement)), stated.value if stated is not None else None, human,
            ref(QDKG.measure), ref(QDKG.status), ref(QDKG.period), ref(QDKG.qualifier),
            quotes_of(evidence),
        )

    types = [link(r.quad.object, r.inferred) for r in own_props.get(RDF_TYPE, [])
             if isinstance(r.quad.object, ox.NamedNode)]
    types.sort(key=lambda t: (t.inferred, t.label))
    type_iris = {t.iri for t in types}
    kind = (
        "statement" if str(QDKG.QuantitativeStatement) in type_iris
        else "span" if str(NIF.beginIndex) in own_props  # evidence, sentences, paragraphs
        else "text" if str(QDKG.ArticleText) in type_iris
        else "resource"
    )
    statement = fact(iri, own_props) if kind == "statement" else None
    if kind == "span":
        quotes = quotes_of([iri])
    elif statement is not None:
        quotes = statement.quotes
    else:
        quotes = quotes_of([value_of(r.quad.object)
                            for r in own_props.get(str(QDKG.evidence), [])])
    text_value = _first(own_props, NIF.isString)

    fact_rows = _by_subject(description.part(FACT))
    facts = [fact(s, p) for s, p in fact_rows.items() if str(QDKG.measure) in p]
    labels = names.labels.get(iri, {})
    title = pick(labels, lang) or compact(iri)
    subtitle = labels.get("en" if lang == "zh" else "zh")
    rows = description.part(OWN, INBOUND)
    page = ResourcePage(
        iri=iri,
        compact=compact(iri),
        title=title,
        subtitle=subtitle if subtitle != title else None,
        kind=kind,
        types=types,
        statement=statement,
        quotes=quotes,
        text=text_value.value if isinstance(text_value, ox.Literal) else None,
        facts=_group_facts(facts),
        properties=_groups(own_props, link, names, lang, outgoing=True),
        inbound=_groups(
            _by_predicate(description.part(INBOUND)), link, names, lang, outgoing=False
        ),
        inbound_limit=INBOUND_LIMIT if description.inbound_truncated else None,
        has_inferred=any(r.inferred for r in rows),
    )
    page.query = query_for(iri, bool(facts))
    return page


def _span_start(iri: str) -> tuple[int, str]:
    tail = iri.rsplit("/", 1)[-1]
    head = tail.split("-", 1)[0]
    return (int(head), iri) if head.isdigit() else (0, iri)


def _by_predicate(rows: list[Row]) -> dict[str, list[Row]]:
    table: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        table[row.quad.predicate.value].append(row)
    return table


def _groups(
    props: dict[str, list[Row]],
    link: Callable[..., Link],
    names: _Names,
    lang: str,
    *,
    outgoing: bool,
) -> list[Group]:
    groups = []
    for predicate, rows in props.items():
        if outgoing and predicate in _HIDDEN:
            continue
        values = []
        for row in rows:
            node = row.quad.object if outgoing else row.quad.subject
            if isinstance(node, ox.NamedNode):
                values.append(Value(link=link(node, row.inferred), inferred=row.inferred))
            elif isinstance(node, ox.Literal):
                datatype = None if node.language or node.datatype.value == _XSD + "string" else (
                    node.datatype.value
                )
                text = format_decimal(node.value) if datatype in _NUMERIC else node.value
                values.append(Value(text=text, lang=node.language, inferred=row.inferred,
                                    datatype=compact(datatype) if datatype else None))
        values.sort(key=lambda v: (v.inferred, v.link.label if v.link else v.text or ""))
        if values:
            groups.append(Group(link(ox.NamedNode(predicate)), values))
    rank = {p: i for i, p in enumerate(_ORDER)}
    groups.sort(key=lambda g: (rank.get(g.predicate.iri, len(rank)), g.predicate.label))
    return groups


def _group_facts(facts: list[Fact]) -> list[FactGroup]:
    by_measure: dict[str, list[Fact]] = defaultdict(list)
    measures: dict[str, Link | None] = {}
    for item in facts:
        key = item.measure.iri if item.measure else ""
        by_measure[key].append(item)
        measures[key] = item.measure

    def status_rank(item: Fact) -> tuple[int, str]:
        slug = item.status.iri.rsplit("/", 1)[-1] if item.status else ""
        order = _STATUS_ORDER.index(slug) if slug in _STATUS_ORDER else len(_STATUS_ORDER)
        return order, item.statement.label

    groups = [FactGroup(measures[k], sorted(v, key=status_rank)) for k, v in by_measure.items()]
    groups.sort(key=lambda g: g.measure.label if g.measure else "")
    return groups


def query_for(iri: str, has_facts: bool) -> str:
    """A query that opens on the query page: the statements about a thing, else DESCRIBE."""
    if has_facts:
        return (
            f"PREFIX qdkg: <{QDKG}>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
            "SELECT ?statement ?label ?measure ?stated ?value ?unit ?status ?period WHERE {\n"
            f"  ?statement qdkg:about <{iri}> ;\n"
            "    qdkg:measure ?measure ; qdkg:value ?value ; qdkg:unit ?unit .\n"
            "  OPTIONAL { ?statement qdkg:statedValue ?stated }\n"
            "  OPTIONAL { ?statement qdkg:status ?status }\n"
            "  OPTIONAL { ?statement qdkg:period ?period }\n"
            '  OPTIONAL { ?statement rdfs:label ?label FILTER(LANG(?label) = "en") }\n'
            "}\nORDER BY ?measure ?statement\n"
        )
    return f"DESCRIBE <{iri}>\n"


def query_href(query_page: str, query: str) -> str:
    return f"{query_page}?query={quote(query, safe='')}"


@dataclass
class HomeSection:
    key: str
    items: list[Link]


_HOME_CLASSES = [
    ("districts", "DistrictLevelDivision"),
    ("people", "Person"),
    ("initiatives", "Initiative"),
    ("projects", "Project"),
    ("project_groups", "ProjectGroup"),
    ("organisations", "Organization"),
]


def home_rows(store: Store) -> list[tuple[str, str, str, str]]:
    """(section, IRI, language, label) for every thing the home page lists."""
    values = " ".join(f'("{key}" <{QDKG[cls]}>)' for key, cls in _HOME_CLASSES)
    query = (
        f"{sparql_prefixes()}SELECT DISTINCT ?key ?x ?label WHERE {{\n"
        f"  VALUES (?key ?class) {{ {values} }}\n"
        "  ?x a ?class . OPTIONAL { ?x rdfs:label ?label }\n}"
    )
    rows = []
    for s in select(store, query):
        label = s["label"]
        language = label.language or "" if isinstance(label, ox.Literal) else ""
        rows.append((value_of(s["key"]), value_of(s["x"]), language,
                     value_of(label) if label is not None else ""))
    return sorted(rows)


def build_home(rows: list[tuple[str, str, str, str]], lang: str, href: Href) -> list[HomeSection]:
    labels: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for key, iri, language, label in rows:
        labels[(key, iri)][language] = label
    sections = []
    for key, _ in _HOME_CLASSES:
        items = [
            Link(iri, pick(names, lang) or compact(iri), href(iri))
            for (k, iri), names in labels.items() if k == key
        ]
        items.sort(key=lambda item: item.label)
        sections.append(HomeSection(key, items))
    return sections
