"""Generate a larger graph in the article's model, for benchmarks: a QDKG_ROOT-style directory.

    python bench/generate.py --triples 100000 --out DIR [--seed N]
    QDKG_ROOT=DIR qdkg build --out DIR/build

DIR gets copies of ontology/ and shapes/, the real article's graph/*.ttl and graph/source/, and
graph/gen-*.ttl: generated cities, each reported by one generated article in the style of the
real one (an interview series with one section per district). Every generated number is a
qdkg:QuantitativeStatement with its measure, normalised value, unit, stated value, status,
period and a nif span quoting the article's generated text (shipped as the nif:isString of the
article's qdkg:ArticleText), so the data satisfies the same shapes as the curated facts.

Span IRIs are made from offsets alone (qid:span/{begin}-{end}), as the shapes require, so two
texts cannot both have a span at the same offsets: the generator keeps every (begin, end) pair
in use and, when a phrase's pair is taken, quotes one or more characters more of the same line.
Output is deterministic for a seed; the size is reached to within one district (~2,000 triples).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE = "https://w3id.org/qdkg/id/"

PREAMBLE = """@base <https://w3id.org/qdkg/id/> .
@prefix qdkg: <https://w3id.org/qdkg/ontology#> .
@prefix nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

# (hanzi, pinyin) for place names: two of them make a name (东山, Dongshan).
SYLLABLES = [
    ("东", "dong"), ("西", "xi"), ("南", "nan"), ("北", "bei"), ("山", "shan"), ("海", "hai"),
    ("河", "he"), ("湖", "hu"), ("江", "jiang"), ("阳", "yang"), ("平", "ping"), ("安", "an"),
    ("宁", "ning"), ("兴", "xing"), ("华", "hua"), ("新", "xin"), ("桥", "qiao"), ("林", "lin"),
    ("泉", "quan"), ("石", "shi"), ("岭", "ling"), ("庄", "zhuang"), ("口", "kou"), ("台", "tai"),
    ("沙", "sha"), ("港", "gang"), ("凤", "feng"), ("龙", "long"), ("云", "yun"), ("金", "jin"),
    ("玉", "yu"), ("长", "chang"), ("永", "yong"), ("丰", "feng"), ("泰", "tai"), ("福", "fu"),
    ("祥", "xiang"), ("明", "ming"), ("光", "guang"), ("清", "qing"), ("和", "he"), ("德", "de"),
    ("盛", "sheng"), ("中", "zhong"), ("高", "gao"), ("文", "wen"), ("昌", "chang"), ("莱", "lai"),
    ("胶", "jiao"), ("黄", "huang"), ("岛", "dao"), ("临", "lin"), ("沂", "yi"), ("济", "ji"),
    ("淄", "zi"), ("博", "bo"), ("烟", "yan"), ("威", "wei"), ("荣", "rong"), ("成", "cheng"),
    ("蓬", "peng"), ("寿", "shou"), ("诸", "zhu"), ("滨", "bin"), ("利", "li"), ("津", "jin"),
    ("宝", "bao"), ("坪", "ping"), ("岗", "gang"), ("湾", "wan"), ("溪", "xi"), ("源", "yuan"),
    ("峰", "feng"), ("松", "song"), ("柏", "bai"), ("梅", "mei"), ("桃", "tao"), ("柳", "liu"),
    ("槐", "huai"), ("乐", "le"), ("康", "kang"), ("顺", "shun"), ("瑞", "rui"), ("嘉", "jia"),
    ("鸿", "hong"), ("远", "yuan"), ("秀", "xiu"), ("春", "chun"), ("夏", "xia"), ("秋", "qiu"),
    ("月", "yue"), ("星", "xing"), ("宜", "yi"), ("靖", "jing"), ("定", "ding"), ("通", "tong"),
    ("达", "da"), ("广", "guang"), ("汇", "hui"), ("翠", "cui"), ("碧", "bi"), ("白", "bai"),
    ("红", "hong"), ("青", "qing"), ("紫", "zi"), ("蓝", "lan"), ("鹤", "he"), ("雁", "yan"),
]
SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"),
    ("胡", "hu"), ("朱", "zhu"), ("高", "gao"), ("林", "lin"), ("何", "he"), ("郭", "guo"),
    ("马", "ma"), ("罗", "luo"), ("梁", "liang"), ("宋", "song"), ("郑", "zheng"), ("谢", "xie"),
    ("韩", "han"), ("唐", "tang"), ("冯", "feng"), ("于", "yu"), ("董", "dong"), ("程", "cheng"),
    ("曹", "cao"), ("袁", "yuan"), ("邓", "deng"), ("许", "xu"), ("沈", "shen"), ("彭", "peng"),
]
GIVEN = [
    ("明", "ming"), ("伟", "wei"), ("芳", "fang"), ("敏", "min"), ("静", "jing"), ("强", "qiang"),
    ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("杰", "jie"), ("涛", "tao"),
    ("超", "chao"), ("平", "ping"), ("刚", "gang"), ("清", "qing"), ("源", "yuan"), ("连", "lian"),
    ("凯", "kai"), ("德", "de"), ("瑞", "rui"), ("康", "kang"), ("子", "zi"), ("玉", "yu"),
    ("华", "hua"), ("建", "jian"), ("国", "guo"), ("志", "zhi"), ("海", "hai"), ("文", "wen"),
    ("斌", "bin"), ("鹏", "peng"), ("辉", "hui"), ("宁", "ning"), ("晓", "xiao"), ("亮", "liang"),
]
INDUSTRIES = [
    ("智能制造", "Intelligent Manufacturing", "intelligent-manufacturing"),
    ("新材料", "New Materials", "new-materials"), ("光电", "Optoelectronics", "optoelectronics"),
    ("生物医药", "Biomedicine", "biomedicine"), ("新能源", "New Energy", "new-energy"),
    ("食品", "Food", "food"), ("机器人", "Robotics", "robotics"),
    ("家电", "Home Appliances", "home-appliances"), ("汽车零部件", "Auto Parts", "auto-parts"),
    ("海洋科技", "Marine Technology", "marine-technology"), ("电子", "Electronics", "electronics"),
    ("装备", "Equipment", "equipment"), ("物流", "Logistics", "logistics"),
]
SLOGANS = [
    ("尽锐攻坚，城市更有品质群众更幸福",
     "An all-out push for a higher-quality city and happier residents"),
    ("真抓实干，一大批重大项目取得突破", "Real work brings breakthroughs for many major projects"),
    ("聚力攻坚，让城市更宜居", "Concerted effort for a more liveable city"),
    ("项目为王，跑出城市更新加速度", "Projects first: speeding up urban renewal"),
    ("民生为本，擦亮城市品质底色", "People first: polishing the city's quality"),
    ("改革破题，激活高质量发展新动能", "Reform unlocks new drivers of high-quality development"),
]
# Campaign tasks of each city's three-year programme: (zh, en, slug, project kinds).
TASKS = [
    ("交通基础设施", "transport infrastructure", "transport", ("RoadProject", "BridgeProject")),
    ("旧城旧村改造", "old town and village renewal", "renewal",
     ("RenovationProject", "ResettlementHousing")),
    ("公园城市建设", "park city building", "parks", ("ParkProject", "GreeningProject")),
    ("市政公用设施", "municipal utilities", "utilities",
     ("MunicipalFacility", "WaterSupplyProject")),
    ("停车设施建设", "parking facilities", "parking", ("ParkingProject",)),
    ("港口码头建设", "ports and wharves", "ports", ("PortProject",)),
    ("生态修复", "ecological restoration", "ecology", ("EcologicalRestoration",)),
    ("产业园区提升", "industrial park upgrading", "industry", ("IndustrialBase",)),
]
# Project names by kind: (zh template, en template); {z} a place name, {e} its pinyin.
PROJECT_NAMES = {
    "RoadProject": [("{z}路", "{e} Road"), ("{z}大道", "{e} Avenue")],
    "BridgeProject": [("{z}高架桥", "{e} Viaduct"), ("{z}大桥", "{e} Bridge")],
    "RenovationProject": [("{z}社区老旧小区改造",
                           "{e} Community old residential estate renovation")],
    "ResettlementHousing": [("{z}社区安置房", "{e} Community resettlement housing")],
    "ParkProject": [("{z}公园提升工程", "{e} Park upgrading project")],
    "GreeningProject": [("{z}林荫廊道", "{e} tree-lined corridor")],
    "MunicipalFacility": [("{z}污水处理厂", "{e} Sewage Treatment Plant"),
                          ("{z}垃圾中转站", "{e} Refuse Transfer Station")],
    "WaterSupplyProject": [("{z}供水管网改造", "{e} water supply network renovation")],
    "ParkingProject": [("{z}公共停车场", "{e} Public Car Park")],
    "PortProject": [("{z}港区码头", "{e} Port Area Wharf")],
    "EcologicalRestoration": [("{z}岸线生态修复", "{e} coastline ecological restoration")],
    "IndustrialBase": [("{z}{i}产业基地", "{e} {I} Industrial Base")],
}
# (project status slug, phrase); roads and bridges may also be opened to traffic.
PROJECT_STATUSES = [
    ("completed", "建成投用"), ("in-operation", "投入运营"), ("under-construction", "加快建设"),
    ("started", "开工建设"), ("about-to-start", "即将开工"), ("planned", "计划实施"),
]
# Measures the generator uses beyond the core ones: defined in graph/gen-vocabulary.ttl unless
# the copied facts already define them (then theirs are used).
MEASURES = {
    "campaign-task-count": ("攻坚任务数量", "number of campaign tasks",
                            "Number of campaign tasks of the urban renewal programme that an "
                            "area pursues."),
    "projects-put-into-use": ("率先投用项目数量", "number of projects put into use",
                              "Number of projects that went into use."),
    "low-efficiency-zone-count": ("重点低效片区数量", "number of key low-efficiency zones",
                                  "Number of low-efficiency zones (低效片区) under redevelopment."),
    "villages-demolished": ("拆迁村居数量", "number of villages demolished",
                            "Number of villages or residential communities demolished (拆迁村居)."),
    "households-relocated": ("拆迁户数", "households relocated",
                             "Number of households whose homes were demolished (拆迁…户)."),
    "enterprises-cleared": ("腾退低效企业数量", "number of low-efficiency enterprises cleared",
                            "Number of small low-efficiency enterprises moved out (腾退清理)."),
    "building-area-demolished": ("拆除建筑面积", "building area demolished",
                                 "Floor area of buildings demolished, in square metres."),
    "hilltop-park-count": ("山头公园数量", "number of hilltop parks", "Number of hilltop parks."),
    "pocket-park-count": ("口袋公园数量", "number of pocket parks", "Number of pocket parks."),
    "subdivision-count": ("下辖镇街数量", "number of towns and subdistricts",
                          "Number of town-level divisions (镇, 街道) an area has."),
    "fixed-asset-investment-growth-rate": ("固定资产投资增速", "fixed-asset investment growth rate",
                                           "Year-on-year growth of fixed-asset investment."),
    "fixed-asset-investment-growth-rank": ("固定资产投资增速排名",
                                           "rank of fixed-asset investment growth",
                                           "Rank of an area's fixed-asset investment growth "
                                           "among the areas compared."),
    "metro-line-count": ("地铁线路数量", "number of metro lines",
                         "Number of metro lines or line phases."),
}
# Sentences of the editor's note; a random choice of them makes every article's offsets differ.
EDITORS_NOTE = [
    "城市更新是一项系统工程，关系群众切身利益。",
    "一年来，各区(市)聚焦重点片区和重大项目，攻坚克难、真抓实干。",
    "老旧小区改造、道路交通、公园绿地、市政设施建设全面提速。",
    "一批群众期盼已久的民生工程相继建成投用。",
    "城市面貌日新月异，群众获得感、幸福感、安全感不断增强。",
    "新的一年，如何推动城市更新和城市建设取得更大突破？",
    "本报记者走访各区(市)，专访区(市)主要负责同志。",
    "敬请关注。",
]
CN_DIGITS = "零一二三四五六七八九十"


def cn_ordinal(n: int) -> str:
    """第N in Chinese numerals, 1-99 (第二, 第十一, 第二十三)."""
    if n < 11:
        return "第" + CN_DIGITS[n]
    tens, units = divmod(n, 10)
    return ("第" + ("" if tens == 1 else CN_DIGITS[tens]) + "十"
            + (CN_DIGITS[units] if units else ""))


def lit(text: str) -> str:
    return '"' + (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                  .replace("\r", "\\r")) + '"'


def dec(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return f'"{text}"^^xsd:decimal'


def fmt(value: Decimal) -> str:
    """A number as the text writes it: no trailing zeros (282.8, 400, 1.24)."""
    return format(value.normalize(), "f")


# --- the text and its spans --------------------------------------------------------------------


@dataclass
class Mark:
    """A phrase of the text that some node cites; its final offsets are fixed by `Spans`."""

    begin: int
    end: int
    iri: str = ""
    required: bool = False  # a statement's evidence must be placed; an entity's may be dropped


class Text:
    """An article's text, written in order, with marks on the phrases the graph cites."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.marks: list[Mark] = []

    def put(self, *pieces: str) -> None:
        for piece in pieces:
            self.parts.append(piece)
            self.pos += len(piece)

    def mark(self, phrase: str) -> Mark:
        mark = Mark(self.pos, self.pos + len(phrase))
        self.put(phrase)
        self.marks.append(mark)
        return mark

    def value(self) -> str:
        return "".join(self.parts)


class Spans:
    """Every (begin, end) pair in use by any text: a span IRI names its offsets and nothing else."""

    def __init__(self, taken: set[tuple[int, int]]) -> None:
        self.taken = taken
        self.widened = 0
        self.extra_chars = 0
        self.dropped = 0

    def place(self, text: str, mark: Mark) -> None:
        line_start = text.rfind("\n", 0, mark.begin) + 1
        line_end = text.find("\n", mark.end)
        line_end = len(text) if line_end < 0 else line_end
        for extra in range(0, 200):
            for back in range(0, extra + 1):
                begin, end = mark.begin - back, mark.end + extra - back
                if begin < line_start or end > line_end:
                    continue
                if (begin, end) not in self.taken:
                    self.taken.add((begin, end))
                    self.widened += extra > 0
                    self.extra_chars += extra
                    mark.begin, mark.end = begin, end
                    mark.iri = f"span/{begin}-{end}"
                    return
        if mark.required:
            raise RuntimeError(f"no free span near {mark.begin}-{mark.end}")
        self.dropped += 1


# --- the triples ---------------------------------------------------------------------------------


class Out:
    """Turtle written subject by subject; counts the triples."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.triples = 0

    def node(self, subject: str, pairs: list[tuple[str, str]]) -> None:
        if not pairs:
            return
        lines: list[str] = []
        last = None
        for p, o in pairs:  # consecutive values of one predicate share it: p a , b
            if p == last:
                lines[-1] += f" , {o}"
            else:
                lines.append(f"{p} {o}")
            last = p
        body = " ;\n    ".join(lines)
        self.chunks.append(f"<{subject}> {body} .\n")
        self.triples += len(pairs)

    def text(self) -> str:
        return PREAMBLE + "\n" + "".join(self.chunks)


@dataclass
class Entity:
    iri: str
    cls: str
    zh: str
    en: str
    props: list[tuple[str, str]] = field(default_factory=list)
    evidence: list[Mark] = field(default_factory=list)


@dataclass
class Statement:
    iri: str
    zh: str
    en: str
    about: str
    measure: str
    value: Decimal
    unit: str
    stated: str
    status: str
    evidence: Mark
    period: str | None = "this-year"
    qualifier: str | None = None
    extra: list[tuple[str, str]] = field(default_factory=list)


class Names:
    """Place and person names, and IRIs that are unique across the whole graph."""

    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self.rng = rng
        self.taken = taken

    def place(self) -> tuple[str, str]:
        (z1, p1), (z2, p2) = self.rng.sample(SYLLABLES, 2)
        return z1 + z2, (p1 + p2).capitalize()

    def person(self) -> tuple[str, str]:
        zs, ps = self.rng.choice(SURNAMES)
        given = self.rng.sample(GIVEN, self.rng.choice((1, 2, 2)))
        return zs + "".join(z for z, _ in given), f"{ps.capitalize()} " + "".join(
            p for _, p in given).capitalize()

    def iri(self, kind: str, *words: str) -> str:
        slug = "-".join(re.sub(r"[^a-z0-9]+", "-", w.lower()).strip("-") for w in words if w)
        candidate, n = f"{kind}/{slug}", 1
        while candidate in self.taken:
            n += 1
            candidate = f"{kind}/{slug}-{n}"
        self.taken.add(candidate)
        return candidate


def yi(rng: random.Random, low: float, high: float) -> Decimal:
    """An amount in 亿元 as a report rounds it: one decimal below 100, whole above."""
    amount = rng.uniform(low, high)
    return Decimal(str(round(amount, 1) if amount < 100 else round(amount)))


def money(amount_yi: Decimal) -> tuple[str, Decimal]:
    """(stated, value in CNY) for an amount in 亿元; below 1亿 it is written in 万元."""
    if amount_yi < 1:
        wan = (amount_yi * 10000).quantize(Decimal(1))
        return f"{fmt(wan)}万元", wan * 10000
    return f"{fmt(amount_yi)}亿元", amount_yi * 100_000_000


# --- one city and its article ------------------------------------------------------------------


class CityWriter:
    """One generated city: its places, bodies, officials, programme, projects and statements,
    and the article (one section per district) whose text every statement cites."""

    def __init__(self, gen: Generator, index: int) -> None:
        self.gen = gen
        self.rng = gen.rng
        self.names = gen.names
        self.text = Text()
        self.entities: list[Entity] = []
        self.statements: list[Statement] = []
        zh, en = self.names.place()
        self.zh, self.en = zh + "市", en
        self.city = self.new("City", "city", (en,), self.zh, en)
        self.slug = self.city.iri.split("/", 1)[1]
        self.index = index
        self.district_count = 0
        self.metro_lines: list[Entity] = []

    # helpers

    def entity(self, cls: str, iri: str, zh: str, en: str, *props: tuple[str, str]) -> Entity:
        node = Entity(iri, cls, zh, en, list(props))
        self.entities.append(node)
        return node

    def new(self, cls: str, kind: str, slug_words: tuple[str, ...], zh: str, en: str,
            *props: tuple[str, str]) -> Entity:
        return self.entity(cls, self.names.iri(kind, *slug_words), zh, en, *props)

    def say(self, zh: str, en: str, about: Entity | str, measure: str, value: Decimal,
            unit: str, stated: str, status: str, mark: Mark, **more: object) -> Statement:
        about_iri = about if isinstance(about, str) else about.iri
        iri = self.names.iri("statement", about_iri.split("/", 1)[1], measure)
        mark.required = True
        statement = Statement(iri, zh, en, about_iri, measure, value, unit, stated, status, mark,
                              **more)  # type: ignore[arg-type]
        self.statements.append(statement)
        return statement

    def cite(self, node: Entity, phrase: str) -> None:
        node.evidence.append(self.text.mark(phrase))

    def _mark_from(self, begin: int) -> Mark:
        """A mark on everything written since `begin`."""
        mark = Mark(begin, self.text.pos)
        self.text.marks.append(mark)
        return mark

    # the article

    def begin_article(self) -> None:
        rng, t = self.rng, self.text
        headline = f"城市更新建设巡礼 {self.zh}区(市)长访谈"
        self.article = self.new(
            "NewsArticle", "article", (self.slug, "urban-renewal-interviews"), headline,
            f"Urban renewal tour: interviews with the district heads of {self.en}",
            ("qdkg:headline", lit(headline) + "@zh"))
        self.paper = self.new("Publisher", "org", (self.slug, "daily"), f"{self.zh[:-1]}日报",
                              f"{self.en} Daily")
        self.article.props.append(("qdkg:publisher", f"<{self.paper.iri}>"))
        year, month, day = 2020 + rng.randrange(5), rng.randrange(1, 13), rng.randrange(1, 29)
        t.put(f"\n（{self.zh[:-1]}日报{year}年{month}月{day}日 第{rng.randrange(1, 17)}版）\n\n")
        self.cite(self.article, headline)
        t.put("\n\n编者按：")
        t.put(*rng.sample(EDITORS_NOTE, rng.randint(1, len(EDITORS_NOTE))))
        t.put("\n\n")
        self.government = self.new(
            "Government", "org", (self.slug, "government"), f"{self.zh}政府",
            f"{self.en} Municipal People's Government", ("qdkg:governs", f"<{self.city.iri}>"))
        self.committee = self.new(
            "PartyCommittee", "org", (self.slug, "party-committee"), f"{self.zh[:-1]}市委",
            f"CPC {self.en} Municipal Committee", ("qdkg:governs", f"<{self.city.iri}>"))
        self.programme = self.new(
            "Programme", "initiative", (self.slug, "urban-renewal-three-year-campaign"),
            f"{self.zh}城市更新和城市建设三年攻坚行动",
            f"{self.en} three-year campaign for urban renewal and urban construction")
        t.put("今年是")
        self.cite(self.city, self.zh[:-1])
        t.put("城市更新和城市建设三年攻坚行动的关键之年。")
        self.cite(self.committee, f"{self.zh[:-1]}市委")
        t.put("、")
        self.cite(self.government, f"{self.zh[:-1]}市政府")
        t.put("部署实施")
        self.cite(self.programme, "城市更新和城市建设三年攻坚行动")
        t.put("，本报推出区(市)长访谈系列报道。\n\n")
        self.tasks: dict[str, Entity] = {}
        for zh, en, slug, _ in TASKS:
            self.tasks[slug] = self.new(
                "Task", "initiative", (self.slug, slug, "campaign"), f"{self.zh}{zh}攻坚",
                f"{self.en} campaign task: {en}",
                ("qdkg:partOf", f"<{self.programme.iri}>"))
        self.text_iri = self.names.iri("text", self.slug, "urban-renewal-interviews")

    def district(self) -> None:
        """One district-level area, everything in it, and the section of the article about it."""
        rng, t, names = self.rng, self.text, self.names
        self.district_count += 1
        kind = rng.choices(("District", "CountyLevelCity", "NewArea"), (6, 3, 1))[0]
        zh, en = names.place()
        suffix_zh, suffix_en, head_zh, head_en = {
            "District": ("区", " District", "区长", "District Head"),
            "CountyLevelCity": ("市", "", "市长", "Mayor"),
            "NewArea": ("新区", " New Area", "区长", "Head"),
        }[kind]
        d_zh, d_en = zh + suffix_zh, en + suffix_en
        district = self.new(kind, "district", (en,), d_zh, d_en,
                            ("qdkg:locatedIn", f"<{self.city.iri}>"))
        short = district.iri.split("/", 1)[1]
        if kind == "NewArea":
            committee = self.new("WorkingCommittee", "org", (short, "working-committee"),
                                 f"{d_zh}工委", f"CPC {d_en} Working Committee")
            deputy_zh, deputy_en = "工委副书记", "Deputy Secretary of the Working Committee"
        else:
            committee = self.new("PartyCommittee", "org", (short, "party-committee"),
                                 f"{d_zh}委", f"CPC {d_en} Committee")
            deputy_zh, deputy_en = "委副书记", "Deputy Secretary of the Party Committee"
        committee.props.append(("qdkg:governs", f"<{district.iri}>"))
        government = self.new("Government", "org", (short, "government"), f"{d_zh}政府",
                              f"{d_en} People's Government",
                              ("qdkg:governs", f"<{district.iri}>"))
        head_post = self.new("Post", "post", (short, "head"), f"{d_zh}{head_zh}",
                             f"{head_en} of {d_en}", ("qdkg:postIn", f"<{government.iri}>"))
        deputy_post = self.new("Post", "post", (short, "deputy-secretary"),
                               f"{d_zh}{deputy_zh}", f"{deputy_en} of {d_en}",
                               ("qdkg:postIn", f"<{committee.iri}>"))
        p_zh, p_en = names.person()
        head = self.new("Person", "person", (p_en,), p_zh, p_en,
                        ("qdkg:holdsPost", f"<{head_post.iri}>"),
                        ("qdkg:holdsPost", f"<{deputy_post.iri}>"))
        r_zh, r_en = names.person()
        reporter = self.new("Person", "person", (r_en,), r_zh, r_en)
        vice_post = self.new("Post", "post", (short, "deputy-head"), f"{d_zh}副{head_zh}",
                             f"Deputy {head_en} of {d_en}", ("qdkg:postIn", f"<{government.iri}>"))
        v_zh, v_en = names.person()
        vice = self.new("Person", "person", (v_en,), v_zh, v_en,
                        ("qdkg:holdsPost", f"<{vice_post.iri}>"))
        self.article.props += [("qdkg:author", f"<{reporter.iri}>"),
                               ("qdkg:interviewee", f"<{head.iri}>")]
        slogan_zh, slogan_en = rng.choice(SLOGANS)
        section = self.new(
            "ArticleSection", "section", (self.slug, short),
            f"{d_zh}：{slogan_zh}", f"{d_en}: {slogan_en}",
            ("qdkg:partOf", f"<{self.article.iri}>"), ("qdkg:author", f"<{reporter.iri}>"),
            ("qdkg:interviewee", f"<{head.iri}>"))

        # headline and byline: 东山区委副书记、区长王明： 聚力攻坚，让城市更宜居
        begin = t.pos
        self.cite(district, d_zh)
        t.put(deputy_zh)
        deputy_post.evidence.append(self._mark_from(begin))
        t.put("、")
        self.cite(head_post, head_zh)
        self.cite(head, p_zh)
        t.put("： ", slogan_zh)
        section.evidence.append(self._mark_from(begin))
        section.props.append(("qdkg:headline", lit(t.value()[begin:t.pos]) + "@zh"))
        t.put("\n\n□")
        self.cite(self.paper, self.paper.zh)
        t.put("记者 ")
        self.cite(reporter, r_zh)
        t.put("\n\n")
        self.cite(committee, committee.zh)
        t.put("、")
        self.cite(government, government.zh)
        t.put("统筹推进城市更新和城市建设。")
        self.cite(vice_post, vice_post.zh)
        self.cite(vice, v_zh)
        t.put("介绍了全区各项攻坚任务的进展。\n\n")

        towns = self._towns(district, d_zh)
        zones = self._zones(district, d_zh)
        self._lead(district, d_zh, d_en, head, head_post, towns, zones)
        self._places_paragraph(district, d_zh, d_en, towns)
        self._zone_paragraph(district, d_zh, d_en, zones, towns)
        self._renewal_paragraph(district, d_zh, d_en, towns)
        self._parks_paragraph(district, d_zh, d_en, towns)
        self._metro_paragraph(district, d_zh, d_en)
        self._growth_paragraph(district, d_zh, d_en)
        self._plans_paragraph(district, d_zh, d_en, p_zh)

    # places

    def _towns(self, district: Entity, d_zh: str) -> list[tuple[Entity, list[Entity]]]:
        rng, names = self.rng, self.names
        towns = []
        short = district.iri.split("/", 1)[1]
        for _ in range(rng.randint(4, 10)):
            zh, en = names.place()
            cls, s_zh, s_en = rng.choice((("Town", "镇", " Town"),
                                          ("Subdistrict", "街道", " Subdistrict")))
            town = self.new(cls, "town", (short, en), zh + s_zh, en + s_en,
                            ("qdkg:locatedIn", f"<{district.iri}>"))
            communities = []
            for _ in range(rng.randint(2, 6)):
                c_zh, c_en = names.place()
                communities.append(self.new(
                    "Community", "community", (short, c_en), c_zh + "社区", c_en + " Community",
                    ("qdkg:locatedIn", f"<{town.iri}>")))
            towns.append((town, communities))
        return towns

    def _zones(self, district: Entity, d_zh: str) -> list[Entity]:
        zones = []
        short = district.iri.split("/", 1)[1]
        for _ in range(self.rng.randint(2, 4)):
            zh, en = self.names.place()
            cls, s_zh, s_en = self.rng.choice((("Zone", "片区", " Area"),
                                               ("IndustrialPark", "经济开发区",
                                                " Economic Development Zone")))
            zones.append(self.new(cls, "zone", (short, en), zh + s_zh, en + s_en,
                                  ("qdkg:locatedIn", f"<{district.iri}>")))
        return zones

    def _places_paragraph(self, district: Entity, d_zh: str, d_en: str,
                          towns: list[tuple[Entity, list[Entity]]]) -> None:
        t = self.text
        t.put(d_zh, "下辖")
        for i, (town, _) in enumerate(towns):
            if i:
                t.put("、")
            self.cite(town, town.zh)
        phrase = f"{len(towns)}个镇街"
        t.put("等")
        mark = t.mark(phrase)
        self.say(f"{d_zh}下辖镇街数量", f"{d_en}: number of towns and subdistricts", district,
                 "subdivision-count", Decimal(len(towns)), "number", phrase, "achieved", mark,
                 period=None)
        t.put("。")
        t.put("其中，")
        for i, (town, communities) in enumerate(towns):
            if i:
                t.put("；")
            self.cite(town, town.zh)
            t.put("辖")
            for i, community in enumerate(communities):
                if i:
                    t.put("、")
                self.cite(community, community.zh)
            t.put("等社区")
        t.put("。\n\n")

    # the paragraphs with numbers

    def _lead(self, district: Entity, d_zh: str, d_en: str, head: Entity, head_post: Entity,
              towns: list, zones: list[Entity]) -> None:
        rng, t = self.rng, self.text
        short = district.iri.split("/", 1)[1]
        tasks = rng.sample(list(self.tasks), rng.randint(3, 5))
        n_projects = 0
        groups = []
        # groups first (their counts sum to the lead's count), the lead paragraph cites them all
        for task_slug in tasks:
            k = rng.randint(3, 9)
            groups.append((task_slug, k))
            n_projects += k
        main = self.new("ProjectGroup", "project-group", (short, f"{n_projects}-key-projects"),
                        f"{d_zh}{n_projects}个重点攻坚项目",
                        f"{d_en}: {n_projects} key campaign projects",
                        ("qdkg:locatedIn", f"<{district.iri}>"),
                        ("qdkg:underInitiative", f"<{self.programme.iri}>"))
        done_yi = yi(rng, 20, 500)
        rate = Decimal(str(round(rng.uniform(80, 160), 1)))
        in_use = rng.randint(1, n_projects)
        t.put("“今年，", d_zh, "聚焦高质量完成")
        tasks_stated = f"{len(tasks)}大"
        self.say(f"{d_zh}攻坚任务数量", f"{d_en}: number of campaign tasks", district,
                 "campaign-task-count", Decimal(len(tasks)), "number", tasks_stated,
                 "in-progress", t.mark(f"{tasks_stated}攻坚任务"))
        t.put("，大力实施")
        main.evidence.append(t.mark(f"{n_projects}个重点攻坚项目"))
        self.say(f"{d_zh}重点攻坚项目数量", f"{d_en}: number of key campaign projects",
                         main, "project-count", Decimal(n_projects), "number", f"{n_projects}个",
                         "in-progress", main.evidence[-1])
        stated, value = money(done_yi)
        t.put("，")
        done = self.say(f"{d_zh}{n_projects}个重点攻坚项目完成投资",
                        f"{d_en}: investment completed by the {n_projects} key campaign projects",
                        main, "investment-completed", value, "cny", stated, "achieved",
                        t.mark(f"完成投资{stated}"))
        t.put("，")
        self.say(f"{d_zh}重点攻坚项目完成全年目标比例",
                 f"{d_en}: share of the annual target completed by the key campaign projects",
                 main, "annual-target-completion-rate", rate, "percent", f"{fmt(rate)}%", "rate",
                 t.mark(f"完成全年目标的{fmt(rate)}%"),
                 extra=[("qdkg:comparedWith", f"<{done.iri}>")])
        t.put("，")
        self.say(f"{d_zh}率先投用项目数量", f"{d_en}: number of projects put into use", main,
                 "projects-put-into-use", Decimal(in_use), "number", f"{in_use}个",
                 "achieved", t.mark(f"{in_use}个项目率先投用"))
        t.put("。”")
        self.cite(head_post, head_post.zh)
        self.cite(head, head.zh)
        t.put("表示。\n\n")
        for task_slug, k in groups:
            self._task_paragraph(district, d_zh, d_en, main, task_slug, k, towns, zones)

    def _task_paragraph(self, district: Entity, d_zh: str, d_en: str, main: Entity,
                        task_slug: str, k: int, towns: list, zones: list[Entity]) -> None:
        rng, t = self.rng, self.text
        task = self.tasks[task_slug]
        task_zh, task_en = next((zh, en) for zh, en, slug, _ in TASKS if slug == task_slug)
        kinds = next(kinds for *_, slug, kinds in TASKS if slug == task_slug)
        short = district.iri.split("/", 1)[1]
        group = self.new("ProjectGroup", "project-group", (short, task_slug, f"{k}-projects"),
                         f"{d_zh}{task_zh}{k}个攻坚项目", f"{d_en}: {k} {task_en} projects",
                         ("qdkg:locatedIn", f"<{district.iri}>"),
                         ("qdkg:memberOf", f"<{main.iri}>"),
                         ("qdkg:underInitiative", f"<{task.iri}>"))
        totals = [yi(rng, 0.3, 60) for _ in range(k)]
        total = sum(totals, Decimal(0))
        total = total.quantize(Decimal(1) if total >= 100 else Decimal("0.1"))
        t.put("聚焦")
        self.cite(task, f"{task_zh}攻坚")
        stated, value = money(total)
        qualifier = rng.choices((None, "more-than", "nearly", "about"), (7, 1, 1, 1))[0]
        hedged = {None: stated, "more-than": f"超过{stated}", "nearly": f"近{stated}",
                  "about": f"约{stated}"}[qualifier]
        t.put("，", d_zh, "加快推进")
        self.say(f"{d_zh}{task_zh}攻坚项目总投资", f"{d_en}: total investment of the {task_en} "
                 "projects", group, "total-investment", value, "cny", hedged, "in-progress",
                 t.mark(f"总投资{hedged}"), qualifier=qualifier)
        t.put("的")
        group.evidence.append(t.mark(f"{k}个攻坚项目"))
        self.say(f"{d_zh}{task_zh}攻坚项目数量", f"{d_en}: number of {task_en} projects", group,
                 "project-count", Decimal(k), "number", f"{k}个", "in-progress",
                 group.evidence[-1])
        t.put("。其中，")
        for i in range(k):
            if i:
                t.put("；")
            self._project(district, group, task, rng.choice(kinds), totals[i], towns, zones)
        t.put("。\n\n")

    def _project(self, district: Entity, group: Entity, task: Entity, kind: str,
                 total: Decimal, towns: list, zones: list[Entity]) -> None:
        rng, t = self.rng, self.text
        town, communities = rng.choice(towns)
        if kind in ("RenovationProject", "ResettlementHousing"):
            community = rng.choice(communities)
            z, e, place = community.zh[:-2], community.en[: -len(" Community")], community
        else:
            z, e = self.names.place()
            place = rng.choice((district, town, town))
        zh_t, en_t = rng.choice(PROJECT_NAMES[kind])
        industry = rng.choice(INDUSTRIES)
        zh = zh_t.format(z=z, i=industry[0])
        en = en_t.format(e=e, I=industry[1])
        status, phrase = rng.choice(PROJECT_STATUSES)
        if kind in ("RoadProject", "BridgeProject") and rng.random() < 0.4:
            status, phrase = "opened-to-traffic", "建成通车"
        props = [("qdkg:locatedIn", f"<{place.iri}>"), ("qdkg:memberOf", f"<{group.iri}>"),
                 ("qdkg:underInitiative", f"<{task.iri}>"),
                 ("qdkg:projectStatus", f"<project-status/{status}>")]
        if kind == "IndustrialBase" and zones:
            props[0] = ("qdkg:locatedIn", f"<{rng.choice(zones).iri}>")
        project = self.new(kind, "project", (e, en.split()[-1] if kind != "IndustrialBase"
                                             else "industrial-base"), zh, en, *props)
        self.cite(project, zh)
        t.put(phrase, "，")
        stated, value = money(total)
        self.say(f"{zh}总投资", f"{en}: total investment", project, "total-investment", value,
                 "cny", stated, "in-progress", t.mark(f"总投资{stated}"))
        if status not in ("planned", "about-to-start") and rng.random() < 0.5:
            done = (total * Decimal(str(rng.uniform(0.1, 0.9)))).quantize(Decimal("0.1"))
            if done > 0:
                stated, value = money(done)
                t.put("，今年")
                self.say(f"{zh}今年完成投资", f"{en}: investment completed this year", project,
                         "investment-completed", value, "cny", stated, "achieved",
                         t.mark(f"完成投资{stated}"))

    def _zone_paragraph(self, district: Entity, d_zh: str, d_en: str, zones: list[Entity],
                        towns: list) -> None:
        rng, t = self.rng, self.text
        short = district.iri.split("/", 1)[1]
        t.put("围绕")
        for i, zone in enumerate(zones):
            if i:
                t.put("、")
            self.cite(zone, zone.zh)
        n = len(zones)
        t.put("等")
        self.say(f"{d_zh}重点低效片区数量", f"{d_en}: number of key low-efficiency zones",
                 district, "low-efficiency-zone-count", Decimal(n), "number", f"{n}大",
                 "in-progress", t.mark(f"{n}大重点低效片区"))
        t.put("，", d_zh, "系统推进征地拆迁、基础设施配套、产业招商等工作，共")
        villages, households = rng.randint(2, 30), rng.randint(300, 9000)
        self.say(f"{d_zh}拆迁村居数量", f"{d_en}: villages demolished", district,
                 "villages-demolished", Decimal(villages), "number", f"{villages}个", "achieved",
                 t.mark(f"拆迁村居{villages}个"))
        t.put("、")
        self.say(f"{d_zh}拆迁户数", f"{d_en}: households relocated", district,
                 "households-relocated", Decimal(households), "number", f"{households}户",
                 "achieved", t.mark(f"{households}户"))
        firms = rng.randint(30, 600)
        t.put("，腾退清理低效小企业")
        self.say(f"{d_zh}腾退低效企业数量", f"{d_en}: low-efficiency enterprises cleared",
                 district, "enterprises-cleared", Decimal(firms), "number", f"{firms}多家",
                 "achieved", t.mark(f"{firms}多家"), qualifier="more-than")
        area = Decimal(str(round(rng.uniform(5, 300), 1)))
        t.put("，")
        self.say(f"{d_zh}拆除建筑面积", f"{d_en}: building area demolished", district,
                 "building-area-demolished", area * 10000, "square-metre", f"{fmt(area)}万平方米",
                 "achieved", t.mark(f"拆除建筑物{fmt(area)}万平方米"))
        land = Decimal(str(round(rng.uniform(0.1, 3), 2)))
        t.put("，")
        self.say(f"{d_zh}腾挪土地", f"{d_en}: land released", district, "land-released",
                 land * 10000, "mu", f"{fmt(land)}万亩", "achieved",
                 t.mark(f"腾挪土地{fmt(land)}万亩"))
        t.put("，")
        companies = []
        for _ in range(rng.randint(2, 4)):
            zh, en = self.names.place()
            ind = rng.choice(INDUSTRIES)
            companies.append(self.new("Company", "org", (en, ind[2], "group"),
                                      f"{zh}{ind[0]}集团", f"{en} {ind[1]} Group"))
        landed = self.new("ProjectGroup", "project-group", (short, "landed-projects"),
                          f"{d_zh}落地重点项目", f"{d_en}: key projects landed",
                          ("qdkg:locatedIn", f"<{district.iri}>"),
                          ("qdkg:underInitiative", f"<{self.tasks['industry'].iri}>"))
        for i, company in enumerate(companies):
            if i:
                t.put("、")
            self.cite(company, company.zh)
            zone = rng.choice(zones)
            self.new("IndustrialProject", "project",
                     (company.iri.split("/", 1)[1], zone.iri.split("/", 1)[1]),
                     f"{zone.zh}{company.zh}项目", f"{company.en} project in {zone.en}",
                     ("qdkg:undertakenBy", f"<{company.iri}>"),
                     ("qdkg:locatedIn", f"<{zone.iri}>"),
                     ("qdkg:memberOf", f"<{landed.iri}>"),
                     ("qdkg:projectStatus", "<project-status/landed>"))
            self.entities[-1].evidence.append(company.evidence[-1])
        n = len(companies) + rng.randint(5, 80)
        t.put("等")
        landed.evidence.append(t.mark(f"{n}个重点项目"))
        self.say(f"{d_zh}落地重点项目数量", f"{d_en}: number of key projects landed", landed,
                 "project-count", Decimal(n), "number", f"{n}个", "achieved",
                 landed.evidence[-1], period="cumulative")
        t.put("先后落地。\n\n")

    def _renewal_paragraph(self, district: Entity, d_zh: str, d_en: str, towns: list) -> None:
        rng, t = self.rng, self.text
        short = district.iri.split("/", 1)[1]
        estates = rng.randint(5, 60)
        group = self.new("ProjectGroup", "project-group", (short, "old-estate-renovation"),
                         f"{d_zh}老旧小区改造", f"{d_en}: old residential estate renovation",
                         ("qdkg:locatedIn", f"<{district.iri}>"),
                         ("qdkg:underInitiative", f"<{self.tasks['renewal'].iri}>"))
        t.put("群众‘住有宜居’的幸福感更加充实：")
        group.evidence.append(t.mark(f"改造老旧小区{estates}个"))
        self.say(f"{d_zh}改造老旧小区数量", f"{d_en}: old residential estates renovated", group,
                 "project-count", Decimal(estates), "number", f"{estates}个", "achieved",
                 group.evidence[-1])
        wan = Decimal(str(round(rng.uniform(0.2, 5), 1)))
        t.put("，")
        self.say(f"{d_zh}老旧小区改造受益户数", f"{d_en}: households benefiting from estate "
                 "renovation", group, "households-benefited", wan * 10000, "number",
                 f"{fmt(wan)}万户", "achieved", t.mark(f"{fmt(wan)}万户居民受益"))
        town, communities = rng.choice(towns)
        t.put("；")
        self.cite(town, town.zh)
        community = rng.choice(communities)
        self.cite(community, community.zh)
        back = rng.randint(200, 9000)
        t.put("等社区")
        self.say(f"{d_zh}回迁户数", f"{d_en}: households resettled", district,
                 "households-resettled", Decimal(back), "number", f"{back}户", "achieved",
                 t.mark(f"{back}户居民喜迁新居"))
        t.put("。\n\n")

    def _parks_paragraph(self, district: Entity, d_zh: str, d_en: str, towns: list) -> None:
        rng, t = self.rng, self.text
        hill, pocket = rng.randint(1, 20), rng.randint(2, 40)
        t.put("公园城市建设提速，")
        self.say(f"{d_zh}建成山头公园数量", f"{d_en}: hilltop parks built", district,
                 "hilltop-park-count", Decimal(hill), "number", f"{hill}处", "achieved",
                 t.mark(f"建成{hill}处山头公园"))
        t.put("、")
        self.say(f"{d_zh}建成口袋公园数量", f"{d_en}: pocket parks built", district,
                 "pocket-park-count", Decimal(pocket), "number", f"{pocket}处", "achieved",
                 t.mark(f"{pocket}处口袋公园"))
        t.put("，")
        parks = []
        short = district.iri.split("/", 1)[1]
        for i in range(rng.randint(1, 3)):
            zh, en = self.names.place()
            town, _ = rng.choice(towns)
            park = self.new("Park", "place", (short, en, "park"), f"{zh}公园", f"{en} Park",
                            ("qdkg:locatedIn", f"<{town.iri}>"))
            if i:
                t.put("、")
            self.cite(park, park.zh)
            parks.append(park)
        t.put("完成提升改造。\n\n■")
        photo = self.new("Photo", "photo", (short, parks[0].iri.split("/", 1)[1]),
                         f"{d_zh}{parks[0].zh}照片", f"Photo of {parks[0].en}, {d_en}",
                         ("qdkg:depicts", f"<{parks[0].iri}>"))
        begin = t.pos
        caption = f"{d_zh}的{parks[0].zh}，完成提升改造后成为市民休闲好去处。"
        t.put(caption)
        photo.props.append(("qdkg:caption", lit(caption) + "@zh"))
        photo.evidence.append(Mark(begin, t.pos))
        t.marks.append(photo.evidence[-1])
        t.put("\n\n")

    def _metro_paragraph(self, district: Entity, d_zh: str, d_en: str) -> None:
        rng, t = self.rng, self.text
        if rng.random() < 0.4:
            return
        if not self.metro_lines or rng.random() < 0.5:
            n = len(self.metro_lines) + 1
            line = self.entity("MetroLine", self.names.iri("project", self.slug, f"metro-line-{n}"),
                               f"地铁{n}号线", f"{self.en} Metro Line {n}",
                               ("qdkg:locatedIn", f"<{self.city.iri}>"))
            self.metro_lines.append(line)
        line = rng.choice(self.metro_lines)
        phase_no = sum(1 for e in self.entities if ("qdkg:partOf", f"<{line.iri}>") in e.props) + 1
        phase_zh = f"{line.zh}{CN_DIGITS[phase_no] if phase_no < 10 else phase_no}期"
        phase = self.entity("MetroLine", self.names.iri("project", line.iri.split("/", 1)[1],
                                                        f"phase-{phase_no}"),
                            phase_zh, f"{line.en}, phase {phase_no}",
                            ("qdkg:partOf", f"<{line.iri}>"),
                            ("qdkg:locatedIn", f"<{district.iri}>"),
                            ("qdkg:underInitiative", f"<{self.tasks['transport'].iri}>"),
                            ("qdkg:projectStatus", "<project-status/under-construction>"))
        t.put("“出门坐地铁”日益走进群众生活：在")
        self.cite(line, line.zh)
        t.put("通车基础上，又实施")
        total = yi(rng, 50, 400)
        stated, value = money(total)
        self.say(f"{phase_zh}总投资", f"{phase.en}: total investment", phase, "total-investment",
                 value, "cny", stated, "in-progress", t.mark(f"总投资{stated}"))
        t.put("的")
        self.cite(phase, phase_zh)
        t.put("项目。\n\n")

    def _growth_paragraph(self, district: Entity, d_zh: str, d_en: str) -> None:
        rng, t = self.rng, self.text
        growth = Decimal(str(round(rng.uniform(-5, 20), 1)))
        t.put("今年前10月，", d_zh, "固定资产投资")
        self.say(f"{d_zh}固定资产投资增速", f"{d_en}: fixed-asset investment growth", district,
                 "fixed-asset-investment-growth-rate", growth, "percent", f"{fmt(growth)}%",
                 "growth", t.mark(f"增长{fmt(growth)}%"), period="jan-oct")
        out_of = max(self.district_count, rng.randint(6, 14))
        rank = rng.randint(1, out_of)
        t.put("，列", self.zh)
        self.say(f"{d_zh}固定资产投资增速排名", f"{d_en}: rank of fixed-asset investment growth",
                 district, "fixed-asset-investment-growth-rank", Decimal(rank), "rank",
                 cn_ordinal(rank), "rank", t.mark(f"{out_of}区市{cn_ordinal(rank)}"),
                 period="jan-oct",
                 extra=[("qdkg:rankWithin", f"<{self.city.iri}>"), ("qdkg:rankOutOf", str(out_of))])
        t.put("。\n\n")

    def _plans_paragraph(self, district: Entity, d_zh: str, d_en: str, head_zh: str) -> None:
        rng, t = self.rng, self.text
        n = rng.randint(20, 200)
        plan_yi = yi(rng, 30, 600)
        stated, value = money(plan_yi)
        t.put("新的一年，“", d_zh, "计划实施")
        self.say(f"{d_zh}明年计划实施重点项目数量", f"{d_en}: key projects planned for next year",
                 district, "project-count", Decimal(n), "number", f"{n}个", "planned",
                 t.mark(f"{n}个重点攻坚项目"), period="next-year")
        t.put("，")
        plan = self.say(f"{d_zh}明年计划完成年度投资", f"{d_en}: investment planned for next year",
                        district, "planned-investment", value, "cny", stated, "planned",
                        t.mark(f"完成年度投资{stated}"), period="next-year")
        growth = Decimal(str(round(rng.uniform(5, 80))))
        t.put("，")
        self.say(f"{d_zh}明年计划投资增幅", f"{d_en}: planned growth of investment next year",
                 district, "growth-rate", growth, "percent", f"{fmt(growth)}%", "growth",
                 t.mark(f"增长{fmt(growth)}%"), period="next-year",
                 extra=[("qdkg:comparedWith", f"<{plan.iri}>")])
        t.put("。”", head_zh, "表示。\n\n")

    # output

    def finish(self, out: Out, spans: Spans) -> None:
        text = self.text.value()
        for mark in self.text.marks:
            spans.place(text, mark)
        for node in self.entities:
            pairs = [("a", f"qdkg:{node.cls}"), ("rdfs:label", lit(node.zh) + "@zh"),
                     ("rdfs:label", lit(node.en) + "@en")]
            pairs += [(p, o) for p, o in node.props if o is not None]
            pairs += [("qdkg:evidence", f"<{m.iri}>") for m in _unique(node.evidence) if m.iri]
            out.node(node.iri, pairs)
        out.node(self.text_iri, [
            ("a", "qdkg:ArticleText"),
            ("rdfs:label", lit(f"《{self.article.zh}》全文") + "@zh"),
            ("rdfs:label", lit(f"Full text of “{self.article.en}”") + "@en"),
            ("dcterms:source", f"<{self.article.iri}>"),
            ("nif:isString", lit(text)),
        ])
        for s in self.statements:
            pairs = [("a", "qdkg:QuantitativeStatement"), ("rdfs:label", lit(s.zh) + "@zh"),
                     ("rdfs:label", lit(s.en) + "@en"), ("qdkg:about", f"<{s.about}>"),
                     ("qdkg:measure", f"<measure/{s.measure}>"), ("qdkg:value", dec(s.value)),
                     ("qdkg:unit", f"<unit/{s.unit}>"), ("qdkg:statedValue", lit(s.stated)),
                     ("qdkg:status", f"<status/{s.status}>")]
            if s.period:
                pairs.append(("qdkg:period", f"<period/{s.period}>"))
            if s.qualifier:
                pairs.append(("qdkg:qualifier", f"<qualifier/{s.qualifier}>"))
            pairs += s.extra
            pairs.append(("qdkg:evidence", f"<{s.evidence.iri}>"))
            out.node(s.iri, pairs)
        for mark in _unique(self.text.marks):
            if not mark.iri:
                continue
            out.node(mark.iri, [
                ("a", "qdkg:TextSpan"), ("nif:referenceContext", f"<{self.text_iri}>"),
                ("nif:beginIndex", str(mark.begin)), ("nif:endIndex", str(mark.end)),
                ("nif:anchorOf", lit(text[mark.begin:mark.end])),
            ])


def _unique(marks: list[Mark]) -> list[Mark]:
    seen: dict[str, Mark] = {}
    for mark in marks:
        seen.setdefault(mark.iri, mark)
    return list(seen.values())


# --- the whole graph ---------------------------------------------------------------------------


class Generator:
    def __init__(self, seed: int, facts_dir: Path) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        iris, spans, measures = _existing(facts_dir)
        self.names = Names(self.rng, iris)
        self.spans = Spans(spans)
        self.existing_measures = measures

    def vocabulary(self, out: Out) -> None:
        for slug, (zh, en, definition) in MEASURES.items():
            if slug in self.existing_measures:
                continue
            out.node(f"measure/{slug}", [
                ("a", "qdkg:Measure"), ("rdfs:label", lit(zh) + "@zh"),
                ("rdfs:label", lit(en) + "@en"), ("skos:inScheme", "<scheme/measures>"),
                ("skos:definition", lit(definition) + "@en")])

    def cities(self, triples: int, write) -> dict[str, int]:  # type: ignore[no-untyped-def]
        """Write cities until about `triples` triples are out; the counts by kind."""
        total, index = 0, 0
        vocab = Out()
        self.vocabulary(vocab)
        write("gen-vocabulary.ttl", vocab.text())
        total += vocab.triples
        counts = {"cities": 0, "districts": 0, "statements": 0, "spans": 0, "entities": 0}
        while total < triples:
            index += 1
            city = CityWriter(self, index)
            city.begin_article()
            budget = triples - total
            districts = self.rng.randint(6, 14)
            out = Out()
            for _ in range(districts):
                city.district()
                # ~2,000 triples per district: stop early when the budget is reached.
                if (len(city.statements) * 16 + len(city.entities) * 9) >= budget:
                    break
            city.finish(out, self.spans)
            write(f"gen-{index:04d}-{city.slug}.ttl", out.text())
            total += out.triples
            counts["cities"] += 1
            counts["districts"] += city.district_count
            counts["statements"] += len(city.statements)
            counts["spans"] += sum(1 for m in _unique(city.text.marks) if m.iri)
            counts["entities"] += len(city.entities)
        counts["triples"] = total
        counts["widened_spans"] = self.spans.widened
        counts["dropped_entity_spans"] = self.spans.dropped
        counts["widened_chars_mean"] = round(self.spans.extra_chars / max(1, counts["spans"]), 2)
        return counts


def _existing(facts_dir: Path) -> tuple[set[str], set[tuple[int, int]], set[str]]:
    """IRIs (relative to qid:), span offsets and measures already in the curated facts."""
    from rdflib import Graph

    graph = Graph()
    for path in sorted(facts_dir.glob("*.ttl")):
        graph.parse(path, format="turtle")
    iris: set[str] = set()
    spans: set[tuple[int, int]] = set()
    measures: set[str] = set()
    for term in graph.all_nodes():
        text = str(term)
        if text.startswith(BASE):
            rel = text[len(BASE):]
            iris.add(rel)
            match = re.fullmatch(r"span/(\d+)-(\d+)", rel)
            if match:
                spans.add((int(match.group(1)), int(match.group(2))))
            if rel.startswith("measure/"):
                measures.add(rel.split("/", 1)[1])
    return iris, spans, measures


def generate(out_dir: Path, triples: int, seed: int = 1, repo: Path = REPO,
             facts: list[str] | None = None, log=print) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Write a QDKG_ROOT-style directory with about `triples` generated triples plus the
    article's own facts (graph/*.ttl, or only the files named in `facts`: common.ttl holds
    the vocabularies the generated data uses); the counts of what was generated."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    for name in ("ontology", "shapes"):
        target = out_dir / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(repo / name, target)
    graph_dir = out_dir / "graph"
    if graph_dir.exists():
        shutil.rmtree(graph_dir)
    graph_dir.mkdir(parents=True)
    for path in sorted((repo / "graph").glob("*.ttl")):
        if facts is None or path.name in facts:
            shutil.copy2(path, graph_dir / path.name)
    shutil.copytree(repo / "graph" / "source", graph_dir / "source")
    if (repo / "graph" / "external").is_dir():
        shutil.copytree(repo / "graph" / "external", graph_dir / "external")
    generator = Generator(seed, graph_dir)

    def write(name: str, text: str) -> None:
        (graph_dir / name).write_text(text, encoding="utf-8")

    counts = generator.cities(triples, write)
    counts["seconds"] = round(time.perf_counter() - started, 2)
    (out_dir / "generated.json").write_text(json.dumps(
        {"seed": seed, "requested_triples": triples, **counts}, indent=2))
    log(f"{out_dir}: {counts['triples']} triples in {counts['cities']} cities, "
        f"{counts['districts']} districts, {counts['statements']} statements, "
        f"{counts['spans']} spans ({counts['widened_spans']} widened, "
        f"{counts['dropped_entity_spans']} entity citations dropped) in {counts['seconds']} s")
    return counts


# --- submissions for the validation benchmark ----------------------------------------------------


def submission(triples: int, seed: int = 1, repo: Path = REPO) -> str:
    """About `triples` triples of new, valid facts about the article's own districts (Turtle):
    road projects with a statement each, cited by spans the article's facts already define (a
    new span could take offsets a generated text uses, and span IRIs name offsets only)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    text = (repo / "graph" / "source" / "article.txt").read_text(encoding="utf-8")
    offsets = sorted({(int(b), int(e)) for path in sorted((repo / "graph").glob("*.ttl"))
                      for b, e in re.findall(r"<span/(\d+)-(\d+)>", path.read_text("utf-8"))})
    districts = ["district/xihaian", "district/chengyang", "district/pingdu"]
    names = Names(rng, set())
    parts, count, i = [PREAMBLE], 0, 0
    while count < triples:
        i += 1
        begin, end = rng.choice(offsets)
        z, e = names.place()
        stated, value = money(yi(rng, 0.5, 80))
        parts.append(f"""
<project/submitted-{seed}-{i}> a qdkg:RoadProject ;
    rdfs:label {lit(z + "路")}@zh , {lit(e + " Road")}@en ;
    qdkg:locatedIn <{rng.choice(districts)}> ;
    qdkg:underInitiative <initiative/urban-renewal-three-year-campaign> ;
    qdkg:projectStatus <project-status/under-construction> ;
    qdkg:evidence <span/{begin}-{end}> .
<statement/submitted-{seed}-{i}> a qdkg:QuantitativeStatement ;
    rdfs:label {lit(z + "路总投资")}@zh , {lit(e + " Road: total investment")}@en ;
    qdkg:about <project/submitted-{seed}-{i}> ;
    qdkg:measure <measure/total-investment> ;
    qdkg:value {dec(value)} ;
    qdkg:unit <unit/cny> ;
    qdkg:statedValue {lit(stated)} ;
    qdkg:status <status/in-progress> ;
    qdkg:period <period/this-year> ;
    qdkg:evidence <span/{begin}-{end}> .
<span/{begin}-{end}> a qdkg:TextSpan ;
    nif:referenceContext <text/article> ;
    nif:beginIndex {begin} ;
    nif:endIndex {end} ;
    nif:anchorOf {lit(text[begin:end])} .
""")
        count += 22
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, required=True,
                        help="about how many triples to generate (the article's own are added)")
    parser.add_argument("--out", required=True, help="directory to write (QDKG_ROOT layout)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--facts", nargs="+", metavar="FILE",
                        help="copy only these of graph/*.ttl (default: all; common.ttl is needed)")
    args = parser.parse_args(argv)
    generate(Path(args.out), args.triples, args.seed, facts=args.facts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
