"""The join-order planner (qdkg.planner): it changes the order the store evaluates a query in,
never the answer.

Every query is evaluated by pyoxigraph twice, as written and as planned, and the two answers
compared as multisets (in order too, where the query orders its solutions). The data is a
graph from the benchmark's generator (about 46,000 quads after the build's closure), on which
Oxigraph's own order is slow for several of the benchmark's queries, and the article's graph.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from qdkg.build import build
from qdkg.examples import examples
from qdkg.planner import STATS_FILE, Planner, Statistics, tokenize

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"


def _bench_module(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # mix.py imports its neighbours by name
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("planner-data")
    _bench_module("generate").generate(root, 20_000, seed=3, facts=["common.ttl"],
                                       log=lambda _msg: None)
    result = build(root / "build", root=root, log=lambda _msg: None)
    assert result.conforms
    return root / "build"


def _store(build_dir: Path) -> ox.Store:
    store = ox.Store()
    store.bulk_load(path=str(build_dir / "dataset.nq"), format=ox.RdfFormat.N_QUADS)
    return store


@pytest.fixture(scope="module")
def generated(generated_build: Path) -> tuple[ox.Store, Planner]:
    store = _store(generated_build)
    return store, Planner(Statistics.of_store(store), lambda: store)


@pytest.fixture(scope="module")
def article(build_dir: Path) -> tuple[ox.Store, Planner]:
    store = _store(build_dir)
    return store, Planner(Statistics.of_store(store), lambda: store)


def _answer(store: ox.Store, sparql: str):
    result = store.query(sparql, use_default_graph_as_union=True)
    if isinstance(result, ox.QueryBoolean):
        return bool(result)
    if isinstance(result, ox.QuerySolutions):
        names = [v.value for v in result.variables]
        rows = [tuple(str(row[n]) if row[n] is not None else None for n in names)
                for row in result]
        return names, rows
    return Counter(str(t) for t in result)


def _same_answers(store: ox.Store, written: str, planned: str) -> None:
    before, after = _answer(store, written), _answer(store, planned)
    if isinstance(before, tuple):
        assert before[0] == after[0]
        assert Counter(before[1]) == Counter(after[1]), planned
        if re.search(r"\bORDER\s+BY\b", written, re.IGNORECASE):
            keys = _order_keys(written, before[0])
            if keys is not None:  # the same order, as far as the sort keys decide it
                assert [tuple(r[k] for k in keys) for r in before[1]] == \
                    [tuple(r[k] for k in keys) for r in after[1]]
    else:
        assert before == after, planned


def _order_keys(sparql: str, names: list[str]) -> list[int] | None:
    """Positions of the projected variables the query sorts by (None for expressions)."""
    clause = re.search(r"\bORDER\s+BY\b(.*?)(?:\bLIMIT\b|\bOFFSET\b|$)", sparql,
                       re.IGNORECASE | re.DOTALL)
    assert clause is not None
    keys = []
    for term in re.findall(r"(?:ASC|DESC)?\s*\(?\s*\?(\w+)", clause.group(1)):
        if term not in names:
            return None
        keys.append(names.index(term))
    return keys


class _Endpoint:
    """What bench/mix.py samples its parameters through."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    def query(self, sparql: str):
        result = self.store.query(sparql, use_default_graph_as_union=True)
        return 200, result.serialize(format=ox.QueryResultsFormat.JSON), {}


def _mix(store: ox.Store) -> list[str]:
    mix = _bench_module("mix")
    values = mix.sample_parameters(_Endpoint(store), 3, seed=11)
    return [q.text for q in mix.build_mix(values, 3)]


def test_the_benchmark_mix_gives_the_same_answers_planned(generated) -> None:
    store, planner = generated
    queries = _mix(store)
    changed = 0
    for sparql in queries:
        planned = planner.plan(sparql)
        changed += planned != sparql
        _same_answers(store, sparql, planned)
    # The planner did reorder most of them: the comparison is not of a query with itself.
    assert changed >= len(queries) // 2, (changed, len(queries))


def test_it_starts_from_the_district_not_from_every_project(generated) -> None:
    """Oxigraph's own order for the projects of a district evaluates `qdkg:locatedIn+` once for
    every typed resource (a property path is guessed a thousand times a triple pattern); the
    statistics put the path from the district first, and the other patterns after it."""
    store, planner = generated
    sparql = next(q for q in _mix(store) if "qdkg:locatedIn+ <" in q and "memberOf" in q)
    planned = planner.plan(sparql)
    first = planned[planned.index("WHERE {"):].split("LATERAL")[0]
    assert "qdkg:locatedIn+ <" in first, planned
    assert planned.count("LATERAL") >= 4, planned


def test_competency_questions_and_examples_give_the_same_answers(article, generated) -> None:
    texts = [e.query for e in examples()]
    assert len(texts) >= 15
    for store, planner in (article, generated):
        for sparql in texts:
            _same_answers(store, sparql, planner.plan(sparql))


# Queries written to reach the corners of the syntax the planner reads; each is compared as
# written and as planned on the article's graph.
PREFIXES = """PREFIX qdkg: <https://w3id.org/qdkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX qid: <https://w3id.org/qdkg/id/>
"""
CORNERS = {
    "filter on an outer variable inside a group": """
        SELECT ?s ?l ?m WHERE { ?s rdfs:label ?l . ?s a qdkg:DistrictLevelDivision .
          { ?t rdfs:label ?m FILTER(?m = ?l) } }""",
    "filter on a variable the group does not bind": """
        SELECT ?s ?x WHERE { ?s a qdkg:Project . ?s rdfs:label ?x .
          { ?s qdkg:locatedIn ?d FILTER(!BOUND(?x)) } }""",
    "optional with a filter on both sides": """
        SELECT ?s ?v ?u WHERE { ?s qdkg:value ?v . ?s qdkg:measure ?m .
          OPTIONAL { ?s qdkg:unit ?u . ?u rdfs:label ?ul FILTER(?v > 10 && lang(?ul) = "en") } }""",
    "minus": """
        SELECT ?s WHERE { ?s a qdkg:QuantitativeStatement ; qdkg:about ?a .
          MINUS { ?s qdkg:status ?st . ?st rdfs:label ?sl } }""",
    "bind and values": """
        SELECT ?s ?n2 WHERE { VALUES ?k { qdkg:Project qdkg:Person } ?s a ?k ; rdfs:label ?n .
          BIND(CONCAT(STR(?n), "!") AS ?n2) ?s qdkg:locatedIn ?d . }""",
    "subquery": """
        SELECT ?d ?n WHERE { ?d a qdkg:DistrictLevelDivision .
          { SELECT ?d (COUNT(?s) AS ?n) WHERE { ?s qdkg:about ?d } GROUP BY ?d } }""",
    "graph": """
        SELECT ?g ?s WHERE { ?s a qdkg:Project . GRAPH ?g { ?s rdfs:label ?l . ?s ?p ?o } }""",
    "paths of every kind": """
        SELECT ?a ?c ?z ?k WHERE {
          ?a (qdkg:locatedIn|qdkg:partOf)+ <https://w3id.org/qdkg/id/district/xihaian> .
          ?a ^qdkg:about/qdkg:measure ?m . ?a qdkg:locatedIn? ?c .
          ?c !(rdfs:label|rdfs:comment) ?z . ?a a/rdfs:subClassOf* ?k }""",
    "literals, comments and punctuation in strings": """
        SELECT ?s WHERE {  # a comment with { braces } and a . dot
          ?s rdfs:label ?l . ?l ?p ?q .
          FILTER(?l != "a { b } . c # d"@zh && ?l != 'it\\'s'^^<http://www.w3.org/2001/XMLSchema#string>)
          ?s qdkg:value ?v FILTER(?v >= 1.5e0 || ?v < -2) }""",
    "object and predicate lists": """
        SELECT * WHERE { ?s a qdkg:QuantitativeStatement , qdkg:Statement ;
          qdkg:about ?a ; qdkg:value ?v ; . ?a rdfs:label ?l , ?l2 }""",
    "base and relative iris": """
        BASE <https://w3id.org/qdkg/id/>
        SELECT ?s WHERE { ?s qdkg:measure <measure/investment-completed> ; qdkg:about ?a .
          ?a qdkg:locatedIn* <district/xihaian> }""",
    "union with a filter in one branch": """
        SELECT ?x ?l WHERE { ?x rdfs:label ?l . { ?x a qdkg:Project } UNION
          { ?x a qdkg:Person FILTER(lang(?l) = "zh") } ?x ?p ?o }""",
    "exists": """
        SELECT ?s WHERE { ?s a qdkg:Project . ?s rdfs:label ?l .
          FILTER EXISTS { ?s qdkg:locatedIn ?d } FILTER NOT EXISTS { ?s qdkg:memberOf ?g } }""",
    "construct": """
        CONSTRUCT { ?s rdfs:label ?l } WHERE { ?s qdkg:locatedIn+ qid:district/xihaian ;
          rdfs:label ?l . }""".replace("qid:district/xihaian", "<https://w3id.org/qdkg/id/district/xihaian>"),
    "ask": "ASK { ?s a qdkg:Project ; qdkg:locatedIn ?d . ?d rdfs:label \"城阳区\"@zh }",
    "describe": "DESCRIBE ?s WHERE { ?s a qdkg:DistrictLevelDivision ; rdfs:label ?l } LIMIT 2",
    "lowercase keywords and $variables": """
        select $s where { $s a qdkg:Project . $s rdfs:label ?l filter(lang(?l) = "zh") }""",
    "values with undef": """
        SELECT ?s ?k ?l WHERE { VALUES (?k ?l) { (qdkg:Project UNDEF) (UNDEF "城阳区"@zh)
          (qdkg:DistrictLevelDivision "西海岸新区"@zh) } ?s a ?k ; rdfs:label ?l . }""",
    "values after the patterns": """
        SELECT ?s ?m WHERE { ?s qdkg:measure ?m ; qdkg:value ?v .
          VALUES ?m { <https://w3id.org/qdkg/id/measure/investment-completed> } }""",
    "select star keeps its columns": """
        SELECT * WHERE { ?z qdkg:about ?y . ?y qdkg:locatedIn ?x . ?x a qdkg:City }""",
    "cartesian product": """
        SELECT (COUNT(*) AS ?n) WHERE { ?a a qdkg:Community . ?b a qdkg:DistrictLevelDivision }""",
}


# Left as written: the leading run of patterns has one pattern (the rest follows GRAPH or a
# subquery), or a group in it has a filter on variables it does not bind itself.
AS_WRITTEN = {"graph", "subquery", "union with a filter in one branch",
              "filter on a variable the group does not bind",
              "filter on an outer variable inside a group"}


@pytest.mark.parametrize("name", sorted(CORNERS))
def test_corners_of_the_syntax_give_the_same_answers(article, generated, name: str) -> None:
    sparql = PREFIXES + CORNERS[name]
    for store, planner in (article, generated):
        planned = planner.plan(sparql)
        assert (planned == sparql) == (name in AS_WRITTEN), planned
        _same_answers(store, sparql, planned)
        ox.Store().query(planned)  # and the planned text parses


def test_a_filter_on_outer_variables_keeps_its_group_in_place(article) -> None:
    """Evaluated with the outer bindings put in (LATERAL), the inner filter would see ?l; in
    a join it does not. The planner leaves such a group where it is."""
    _, planner = article
    planned = planner.plan(PREFIXES + CORNERS["filter on an outer variable inside a group"])
    assert "LATERAL { { ?t rdfs:label ?m FILTER(?m = ?l) } }" not in planned
    assert "{ ?t rdfs:label ?m FILTER(?m = ?l) }" in planned


@pytest.mark.parametrize("sparql", [
    "SELECT * WHERE { ?s qdkg:about [ a qdkg:Project ] . ?s qdkg:value ?v }",
    "SELECT * WHERE { ?s qdkg:about _:b . _:b qdkg:value ?v }",
    "SELECT * WHERE { ?s qdkg:list (1 2) . ?s qdkg:value ?v }",
    "CONSTRUCT WHERE { ?s qdkg:about ?a . ?a rdfs:label ?l }",
    "SELECT * WHERE { << ?s qdkg:about ?a >> qdkg:value ?v . ?s rdfs:label ?l }",
    "SELECT * WHERE { ?s qdkg:about ?a . ?a rdfs:label ?l",  # not even a query
    "INSERT DATA { <x:a> <x:b> <x:c> }",
])
def test_what_it_does_not_read_is_left_as_written(article, sparql: str) -> None:
    _, planner = article
    text = PREFIXES + sparql
    assert planner.plan(text) == text


def test_the_tokens_cover_everything_but_spaces_and_comments() -> None:
    for sparql in (PREFIXES + q for q in CORNERS.values()):
        position = 0
        for token in tokenize(sparql):
            gap = sparql[position:token.start]
            assert re.fullmatch(r"(?:\s|#[^\n]*)*", gap), (gap, token)
            assert sparql[token.start:token.end] == token.text
            position = token.end
        assert re.fullmatch(r"(?:\s|#[^\n]*)*", sparql[position:])
    strings = tokenize('SELECT * { ?s ?p "a { b } # c" . ?s ?p \'\'\'x\ny\'\'\' }')
    assert [t.kind for t in strings if t.kind == "string"] == ["string", "string"]


def test_the_build_writes_statistics_that_match_the_store(generated_build: Path) -> None:
    stats = Statistics.load(generated_build / STATS_FILE)
    assert stats is not None
    store = _store(generated_build)
    triples = int(next(iter(store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                                        use_default_graph_as_union=True)))["n"].value)
    assert stats.total == triples
    label = stats.predicates["http://www.w3.org/2000/01/rdf-schema#label"]
    assert label[0] == int(next(iter(store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?o }",
        use_default_graph_as_union=True)))["n"].value)
    assert stats.classes["https://w3id.org/qdkg/ontology#DistrictLevelDivision"] >= 11
    assert Statistics.from_json(stats.to_json()) == stats


def test_a_previous_build_gets_its_statistics(generated_build: Path) -> None:
    """A build made before the statistics existed gets them when it is reused."""
    stats_file = generated_build / STATS_FILE
    before = Statistics.load(stats_file)
    stats_file.unlink()
    result = build(generated_build, root=generated_build.parent, log=lambda _msg: None)
    assert result.reused
    assert Statistics.load(stats_file) == before


def _sparql_json(url: str, sparql: str) -> dict:
    request = urllib.request.Request(
        f"{url}/sparql", data=urllib.parse.urlencode({"query": sparql}).encode(),
        headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local server
        return json.loads(response.read())


def test_a_server_with_the_planner_on_answers_as_one_with_it_off(
        server_factory, generated_build: Path) -> None:
    env = {"QDKG_BUILD_DIR": str(generated_build), "QDKG_ROOT": str(generated_build.parent)}
    planned = server_factory("--planner", "on", "--result-cache-mb", "0", env=env)
    written = server_factory("--planner", "off", "--result-cache-mb", "0", env=env)
    store = _store(generated_build)
    queries = [q for q in _mix(store) if not q.lstrip().upper().startswith("DESCRIBE")
               and "DESCRIBE" not in q.split("WHERE")[0].upper()]
    for sparql in queries:
        a, b = _sparql_json(planned.url, sparql), _sparql_json(written.url, sparql)
        key = lambda row: json.dumps(row, sort_keys=True)  # noqa: E731
        assert sorted(map(key, a["results"]["bindings"])) == \
            sorted(map(key, b["results"]["bindings"])), sparql


def test_a_bad_query_is_still_a_400_with_the_planner_on(server_factory, generated_build) -> None:
    server = server_factory("--planner", "on", env={"QDKG_BUILD_DIR": str(generated_build),
                                                    "QDKG_ROOT": str(generated_build.parent)})
    request = urllib.request.Request(
        f"{server.url}/sparql", data=urllib.parse.urlencode(
            {"query": "SELECT * WHERE { ?s ?p ?o . ?s <x:p> ?o FILTER( }"}).encode())
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 - local server
    assert caught.value.code == 400
    assert b"line" in caught.value.read().lower()
