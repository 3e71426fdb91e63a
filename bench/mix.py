"""The query mix: bench/queries/*.rq templates, filled in with cities, districts, resources,
numbers and words sampled (with a fixed seed) from the data, the same for every server."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from servers import Server

QUERIES_DIR = Path(__file__).resolve().parent / "queries"
BASE = "https://w3id.org/qdkg/id/"
QDKG = "https://w3id.org/qdkg/ontology#"
SOLUTIONS = "application/sparql-results+json"
TRIPLES = "text/turtle"
WORDS = ["公园", "大桥", "停车场", "安置房", "产业基地", "污水处理厂", "大道", "码头"]
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

# What each placeholder is filled with: the query that lists the candidates (written to work
# with or without the closure's inferred types).
_SUBCLASS = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>*"
PARAMETERS = {
    "city": f"""SELECT DISTINCT ?x WHERE {{ ?d <{QDKG}locatedIn> ?x . ?x a <{QDKG}City> }}""",
    "district": f"""SELECT DISTINCT ?x WHERE {{
                    ?x a ?c . ?c {_SUBCLASS} <{QDKG}DistrictLevelDivision> }}""",
    "entity": f"""SELECT DISTINCT ?x WHERE {{
                  VALUES ?kind {{ <{QDKG}Project> <{QDKG}DistrictLevelDivision> <{QDKG}Person>
                                 <{QDKG}QuantitativeStatement> <{QDKG}ProjectGroup>
                                 <{QDKG}Community> <{QDKG}Organization> }}
                  ?x a ?c . ?c {_SUBCLASS} ?kind . FILTER(STRSTARTS(STR(?x), "{BASE}")) }}""",
    "stated": f"SELECT DISTINCT ?x WHERE {{ ?s <{QDKG}statedValue> ?x }}",
}


@dataclass
class Query:
    template: str  # the file's stem, e.g. 04-projects-by-investment
    kind: str
    text: str
    accept: str


def templates() -> dict[str, str]:
    return {path.stem: path.read_text(encoding="utf-8")
            for path in sorted(QUERIES_DIR.glob("*.rq"))}


def _kind(text: str) -> str:
    match = re.search(r"^# kind: (.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else "query"


def sample_parameters(server: Server, variants: int, seed: int) -> dict[str, list[str]]:
    """For each placeholder, `variants` values drawn from what `server` holds."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    values: dict[str, list[str]] = {}
    for name, query in PARAMETERS.items():
        status, body, _ = server.query(query)
        if status != 200:
            raise RuntimeError(f"could not list {name}s: {status} {body[:300]!r}")
        found = sorted(row["x"]["value"] for row in json.loads(body)["results"]["bindings"])
        if name == "stated":
            found = [v for v in found if '"' not in v and "\\" not in v]
        if not found:
            raise RuntimeError(f"the data has no {name} to query")
        values[name] = [rng.choice(found) for _ in range(variants)] if len(found) < variants \
            else rng.sample(found, variants)
    values["word"] = [WORDS[i % len(WORDS)] for i in range(variants)]
    return values


def build_mix(values: dict[str, list[str]], variants: int) -> list[Query]:
    """Every template with every variant, interleaved: template 1 variant 1, template 2
    variant 1, ..., template 1 variant 2, ... (so any stretch of the mix has every kind)."""
    loaded = templates()
    mix = []
    for i in range(variants):
        for stem, text in loaded.items():
            filled = _PLACEHOLDER.sub(lambda m, i=i: values[m.group(1)][i], text)
            accept = TRIPLES if re.search(r"^\s*DESCRIBE", filled, re.MULTILINE) else SOLUTIONS
            mix.append(Query(stem, _kind(text), filled, accept))
    return mix


def lookups(values: dict[str, list[str]]) -> list[Query]:
    """The single-resource lookups the probe sends while the mix runs."""
    text = templates()["01-lookup"]
    return [Query("01-lookup", "lookup", _PLACEHOLDER.sub(lambda m, e=e: e, text), SOLUTIONS)
            for e in values["entity"]]


def count_results(body: bytes, accept: str) -> int:
    """Rows of a JSON result, or triples of a Turtle one (parsed with pyoxigraph)."""
    if accept == SOLUTIONS:
        return len(json.loads(body)["results"]["bindings"])
    import pyoxigraph as ox

    return sum(1 for _ in ox.parse(body, format=ox.RdfFormat.TURTLE))
