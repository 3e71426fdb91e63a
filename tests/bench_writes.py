"""Timing of the write path: an insert through /update and /store, and a removal, each committed.

Not a test (pytest collects test_*.py only). Run:

    python tests/bench_writes.py [BUILD_DIR] [ROUNDS]

Uses the real app (Flask test client) over the built dataset, writes enabled, with a journal in
a temporary directory; prints the median wall time of each kind of write.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from qdkg.app import create_app
from qdkg.config import Config
from qdkg.paths import DEFAULT_BUILD_DIR

TOKEN = "bench-token-0123456789"
ARTICLE = "https://w3id.org/qdkg/graph/article"
COMMENT = "<http://www.w3.org/2000/01/rdf-schema#comment>"
CHENGYANG = "<https://w3id.org/qdkg/id/district/chengyang>"


def main() -> None:
    build_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_BUILD_DIR
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with tempfile.TemporaryDirectory() as data_dir:
        config = Config(build_dir=build_dir, data_dir=Path(data_dir),
                        write_tokens={TOKEN: "bench"})
        client = create_app(config).test_client()
        headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
        timings: dict[str, list[float]] = {"update insert": [], "store POST": [],
                                           "update delete": []}
        for i in range(rounds):
            triple = f'{CHENGYANG} {COMMENT} "bench {i}"@en .'
            for kind, call in (
                ("update insert", lambda t=triple: client.post(
                    "/update", data=f"INSERT DATA {{ GRAPH <{ARTICLE}> {{ {t} }} }}",
                    content_type="application/sparql-update", headers=headers)),
                ("store POST", lambda i=i: client.post(
                    f"/store?graph={ARTICLE}", data=f'{CHENGYANG} {COMMENT} "post {i}"@en .',
                    content_type="application/n-triples", headers=headers)),
                ("update delete", lambda t=triple: client.post(
                    "/update", data=f"DELETE DATA {{ GRAPH <{ARTICLE}> {{ {t} }} }}",
                    content_type="application/sparql-update", headers=headers)),
            ):
                started = time.perf_counter()
                response = call()
                timings[kind].append(time.perf_counter() - started)
                assert response.status_code == 200, response.get_data(as_text=True)
        for kind, values in timings.items():
            print(f"{kind}: p50={statistics.median(values) * 1000:.0f} ms over {rounds}")


if __name__ == "__main__":
    main()
