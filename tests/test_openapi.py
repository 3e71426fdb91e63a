"""The OpenAPI description against the real service: schemathesis generates requests for every
operation it describes and checks each answer: never a 5xx, and status, media type, headers and
JSON body all as described."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import WRITE_TOKEN, WRITE_TOKENS, start_server
from qdkg.app import create_app
from qdkg.web.api_docs import DESCRIPTION_FILE

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES = 12  # per operation: about 30 operations, a few hundred requests in all


@pytest.fixture(scope="module")
def api(build_dir, tmp_path_factory):
    """A writable server with its own data directory: generated writes may commit."""
    data = tmp_path_factory.mktemp("openapi")
    srv = start_server(build_dir, data, "--data-dir", str(data / "data"), "--query-timeout", "5",
                       env={"QDKG_WRITE_TOKENS": WRITE_TOKENS})
    yield srv
    srv.stop()


# Bodies of these types are text: sent as generated, like text/plain.
schemathesis.serializer.alias(
    ["application/sparql-query", "application/sparql-update", "application/n-triples",
     "application/n-quads", "application/trig", "application/x-turtle", "application/ld+json",
     "application/rdf+xml"], "text/plain")
schema = schemathesis.openapi.from_dict(json.loads(DESCRIPTION_FILE.read_text(encoding="utf-8")))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_every_answer_matches_the_description(case, api):
    case.call_and_validate(base_url=api.url, checks=CHECKS,
                           headers={"Authorization": f"Bearer {WRITE_TOKEN}"}, timeout=60)


def test_the_description_names_every_route(api, app):
    """Every route of the app is described (and nothing the app does not have)."""
    with urllib.request.urlopen(api.url + "/openapi.json", timeout=30) as response:  # noqa: S310
        document = json.load(response)
    assert document["openapi"].startswith("3.1")
    assert document["servers"][0]["url"] == api.url
    described = {(path, method.upper()) for path, item in document["paths"].items()
                 for method in item if method in ("get", "post", "put", "delete", "options")}
    routes = set()
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<path:rest>", "{kind}/{slug}").replace("<path:name>", "{name}")
        path = path.replace("<int:seq>", "{seq}").replace("<ext>", "{ext}")
        path = path.replace("<path:filename>", "{file}").replace("/ontology/{kind}/{slug}",
                                                               "/ontology/{version}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method))
    assert routes <= described, sorted(routes - described)
    assert {p for p, _ in described} <= {p for p, _ in routes}


def test_the_home_page_links_the_description(client):
    reply = client.get("/", headers={"Accept": "text/html"})
    assert '</openapi.json>; rel="service-desc"' in reply.headers["Link"]


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "kg.example.org",
             "X-Forwarded-Prefix": "/qdkg", "X-Forwarded-For": "203.0.113.9"}


def test_behind_a_trusted_proxy_urls_follow_the_forwarded_headers(app):
    runtime = app.extensions["qdkg"]
    proxied = create_app(replace(runtime.config, proxy_hops=1), runtime=runtime).test_client()
    servers = proxied.get("/openapi.json", headers=FORWARDED).get_json()["servers"]
    assert servers[0]["url"] == "https://kg.example.org/qdkg"
    described = proxied.get("/sparql", headers={"Accept": "text/turtle", **FORWARDED}).data
    assert b"<https://kg.example.org/qdkg/sparql>" in described


def test_without_a_proxy_forwarded_headers_are_ignored(client):
    servers = client.get("/openapi.json", headers=FORWARDED).get_json()["servers"]
    assert servers[0]["url"] == "http://localhost"
