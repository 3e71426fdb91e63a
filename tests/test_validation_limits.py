"""The bounds on one validation: a triple limit (413, saying the limit and how to split) and a
time limit (503 with a message, the worker unharmed), on real server processes."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from qdkg.validation import ValidationTimeout, within
from stewardship_samples import PREFIXES, road

WRITER = "writer-token-0123456789"


def post(url: str, body: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body.encode("utf-8"), method="POST", headers={
        "Content-Type": "text/turtle", "Accept": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - test server
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def roads(count: int) -> str:
    """`count` new road projects (9 triples each, with the shared evidence span's 5)."""
    return PREFIXES + "".join(road(f"limit-{i}") for i in range(count))


def triples_in(turtle: str) -> int:
    import rdflib

    return len(rdflib.Graph().parse(data=turtle, format="turtle"))


def test_a_submission_over_the_triple_limit_gets_413_saying_how_to_split(server_factory):
    small, large = roads(2), roads(8)
    limit = triples_in(small) + 1
    assert triples_in(large) > limit
    srv = server_factory("--max-triples", str(limit),
                         env={"QDKG_WRITE_TOKENS": f"writer:{WRITER}"})

    status, body = post(srv.url + "/validate", large)
    assert status == 413, body
    message = json.loads(body)["error"]
    assert f"more than the {limit} checked in one request" in message
    assert f"parts of at most {limit} triples" in message

    status, body = post(srv.url + "/validate", small)
    assert status == 200 and json.loads(body)["conforms"] is True, body

    # Writes have the same limit, and nothing is written.
    store = srv.url + "/store?graph=https://w3id.org/qdkg/graph/article"
    status, body = post(store, large, {"Authorization": f"Bearer {WRITER}"})
    assert status == 413, body
    with urllib.request.urlopen(srv.url + "/changes") as response:  # noqa: S310
        assert json.loads(response.read())["changes"] == []


def test_a_validation_past_its_time_limit_gets_503_and_the_worker_goes_on(server_factory):
    srv = server_factory("--validation-timeout", "0.001", "--workers", "1")
    for _ in range(3):
        status, body = post(srv.url + "/validate", roads(3))
        assert status == 503, body
        message = json.loads(body)["error"]
        assert "did not finish within the 0.001-second limit" in message
        assert "smaller parts" in message
        # The same worker answers the next request normally: nothing stays pending in it.
        query = urllib.parse.quote("ASK { ?s ?p ?o }")
        with urllib.request.urlopen(f"{srv.url}/sparql?query={query}") as response:  # noqa: S310
            assert json.loads(response.read())["boolean"] is True
    log = srv.log()
    assert "WORKER TIMEOUT" not in log and "Traceback" not in log, log
    assert log.count("Booting worker") == 1  # never replaced


def test_within_returns_the_result_or_stops_the_work():
    assert within(30, lambda: sum(range(1000))) == 499500

    def forever() -> None:
        while True:
            pass

    with pytest.raises(ValidationTimeout, match="within 0.05 s"):
        within(0.05, forever)
    # Nothing is left pending for this thread once the limit has been handled.
    assert [n * 2 for n in range(100_000)][-1] == 199_998
