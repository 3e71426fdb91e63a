"""Timing of /validate's core: a ~100-triple submission checked in the context of the stored graph.

Not a test (pytest collects test_*.py only). Run:

    python tests/bench_validation.py [BUILD_DIR] [ROUNDS]

It loads the built dataset into an in-memory store, then validates the same realistic
submission (new projects placed in existing districts, each with statements and evidence)
ROUNDS times and prints p50 and p90 of the wall time, with a breakdown of one run.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from qdkg.build import DATASET_FILE
from qdkg.namespaces import BASE
from qdkg.paths import DEFAULT_BUILD_DIR
from qdkg.store import OxigraphStore
from qdkg.submission import parse
from qdkg.validation import Checker

PREFIXES = """@base <https://w3id.org/qdkg/id/> .
@prefix qdkg: <https://w3id.org/qdkg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def submission(n: int = 6) -> str:
    """n projects with one statement each: about 17 triples per project."""
    parts = [PREFIXES]
    districts = ["district/xihaian", "district/chengyang", "district/pingdu"]
    for i in range(n):
        d = districts[i % 3]
        parts.append(f"""
<project/bench-{i}> a qdkg:RoadProject ;
    rdfs:label "基准道路{i}"@zh , "Benchmark road {i}"@en ;
    qdkg:locatedIn <{d}> ;
    qdkg:underInitiative <initiative/urban-renewal-three-year-campaign> ;
    qdkg:evidence <span/189-198> .
<statement/bench-{i}> a qdkg:QuantitativeStatement ;
    rdfs:label "基准陈述{i}"@zh , "Benchmark statement {i}"@en ;
    qdkg:about <project/bench-{i}> ;
    qdkg:measure <measure/investment-completed> ;
    qdkg:value "{i + 1}00000000"^^xsd:decimal ;
    qdkg:unit <unit/cny> ;
    qdkg:statedValue "{i + 1}亿元" ;
    qdkg:status <status/achieved> ;
    qdkg:period <period/this-year> ;
    qdkg:evidence <span/189-198> .
""")
    return "".join(parts)


def main() -> None:
    build_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_BUILD_DIR
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    store = OxigraphStore()
    store.load_file(build_dir / DATASET_FILE)
    checker = Checker(store)
    data = submission().encode()
    sub = parse(data, "text/turtle", BASE + "id/")
    print(f"store: {len(store)} quads; submission: {len(sub)} triples")
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        checked = checker.check_additions(parse(data, "text/turtle", BASE + "id/").triples)
        times.append(time.perf_counter() - started)
    times.sort()
    print(f"conforms={checked.conforms} results={len(list(checked.validation.results()))} "
          f"inferred+={len(checked.diff.inferred_added)} slice={len(checked.data)} triples")
    print(f"p50={statistics.median(times) * 1000:.0f} ms  "
          f"p90={times[int(len(times) * 0.9) - 1] * 1000:.0f} ms  over {rounds} rounds")


if __name__ == "__main__":
    main()
