"""Malformed and hostile input against real server processes: each gets a clear 4xx with a
message, never a 5xx or a stack trace, never a crashed process, never a change to the data."""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import WRITE_TOKENS, start_server
from http_probe import (
    ARTICLE,
    QID,
    Reply,
    authorised,
    call,
    children,
    dump,
    insert,
    update,
    workers_of,
)
from stewardship_samples import span, turtle

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
LABEL_QUERY = ("SELECT ?l WHERE { <https://w3id.org/qdkg/id/district/chengyang> "
               "<http://www.w3.org/2000/01/rdf-schema#label> ?l }")


@pytest.fixture(scope="module")
def writable(build_dir, tmp_path_factory):
    """A server with writes on and a data directory; its data is compared before and after."""
    data = tmp_path_factory.mktemp("hostile")
    srv = start_server(build_dir, data, "--data-dir", str(data / "data"),
                       env={"QDKG_WRITE_TOKENS": WRITE_TOKENS})
    srv.before = dump(srv.url)  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def refused(reply: Reply, *statuses: int) -> str:
    """The reply is one of the 4xx `statuses`, with a message and no stack trace; the message."""
    assert reply.status in statuses, (reply.status, reply.text[:500])
    assert reply.text.strip(), "a refusal must say why"
    assert "Traceback" not in reply.text and 'File "' not in reply.text
    return reply.text


def form(**fields: str) -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded", **fields}


# --- bytes that are not text ----------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "/sparql?query=%FF",
    "/sparql?query=SELECT%20*%20WHERE%20%7B%20?s%20?p%20%22%C3%28%22%20%7D",  # broken sequence
    "/sparql?query=ASK%7B%7D&default-graph-uri=https://w3id.org/qdkg/graph/%FE",
    "/id/district/%FF",
    "/doc/district/chengyang%C0%AF",  # an overlong '/'
    "/query?lang=%ED%A0%80",  # a UTF-16 surrogate, never valid UTF-8
    "/store?graph=https%3A%2F%2Fw3id.org%2Fqdkg%2Fgraph%2Farticle%FF",
])
def test_undecodable_percent_escapes_are_refused(server, target):
    text = refused(call(server.url + target), 400)
    assert "UTF-8" in text


@pytest.mark.parametrize("target", ["/sparql?query=ASK%7B%7D%", "/sparql?query=ASK%G0",
                                    "/doc/district/chengyang?lang=%zh"])
def test_broken_percent_escapes_are_refused_not_kept_as_text(server, target):
    assert "percent-escape" in refused(call(server.url + target), 400)


def test_invalid_utf8_in_form_bodies_and_text_bodies(server):
    body = b"query=ASK%20%7B%20?s%20?p%20%22%FF%22%20%7D"
    assert "UTF-8" in refused(call(server.url + "/sparql", "POST", body, form()), 400)
    raw = b'ASK { ?s ?p "\xff\xfe" }'
    refused(call(server.url + "/sparql", "POST", raw,
                 {"Content-Type": "application/sparql-query"}), 400)
    for media in ("text/turtle", "application/n-triples", "application/ld+json"):
        data = b'<https://w3id.org/qdkg/id/x> <http://www.w3.org/2000/01/rdf-schema#label> "\xc3" .'
        if media == "application/ld+json":
            data = b'{"@id": "https://w3id.org/qdkg/id/x", "http://a/p": "\xc3"}'
        refused(call(server.url + "/validate", "POST", data, {"Content-Type": media}), 400)


def test_invalid_utf8_writes_nothing(writable):
    body = insert('<https://w3id.org/qdkg/id/district/chengyang> '
                  '<http://www.w3.org/2000/01/rdf-schema#comment> "bad \xff"@en .')
    raw = body.encode("latin-1")  # \xff as one byte: not UTF-8
    assert "UTF-8" in refused(update(writable.url, raw), 400)
    form_body = b"update=" + urllib.parse.quote_from_bytes(raw).encode()
    refused(call(writable.url + "/update", "POST", form_body, authorised(form())), 400)
    refused(call(writable.url + f"/store?graph={urllib.parse.quote(ARTICLE)}", "POST",
                 raw.split(b"{ ", 2)[2].rsplit(b" }", 2)[0],
                 authorised({"Content-Type": "application/n-triples"})), 400)
    # declared as Latin-1, the same bytes are text after all (checked as a dry run)
    latin = call(writable.url + "/update?dry-run=true", "POST", raw, authorised(
        {"Content-Type": "application/sparql-update; charset=latin-1"}))
    assert latin.status == 200 and json.loads(latin.body)["status"] == "dry-run"


@settings(FUZZ)
@given(raw=st.binary(min_size=1, max_size=120))
def test_any_bytes_as_a_query_get_an_answer_not_an_error(server, raw):
    quoted = urllib.parse.quote_from_bytes(raw)
    for reply in (call(server.url + "/sparql?query=" + quoted),
                  call(server.url + "/sparql", "POST", raw,
                       {"Content-Type": "application/sparql-query"})):
        assert reply.status in (200, 400, 406, 413), (raw, reply.status, reply.text[:300])
        if reply.status != 200:
            refused(reply, reply.status)


SPARQL_PIECES = st.sampled_from([
    "SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "{", "}", "(", ")", "[", "]", "?s", "?p",
    "?o", "<", ">", "<http://x/>", "'", '"', '"""', "#", "\n", ".", ";", ",", "FILTER", "OPTIONAL",
    "UNION", "SERVICE", "FROM", "NAMED", "GRAPH", "VALUES", "BIND", "AS", "*", "1", "-", "!", "&&",
    "\\", "\\u0000", "rdfs:label", "PREFIX", "rdfs:", "@zh", "^^", "LIMIT", "LOAD", "INSERT", "%",
    "\u0000", "\u202e", "\ud7ff", "城阳区", "\t",
])


@settings(FUZZ)
@given(pieces=st.lists(SPARQL_PIECES, min_size=1, max_size=40))
def test_query_like_text_never_breaks_the_endpoint(server, pieces):
    query = " ".join(pieces)
    reply = call(server.url + "/sparql", "POST", urllib.parse.urlencode({"query": query}), form())
    assert reply.status in (200, 400, 406), (query, reply.status, reply.text[:300])
    if reply.status != 200:
        refused(reply, reply.status)


RDF_PIECES = st.sampled_from([
    "<https://w3id.org/qdkg/id/x>", "<x>", "<>", "<http://a/p>", "a", "rdfs:label", '"t"', "'t'",
    '"""t"""', "@en", "@zh", "^^", "xsd:decimal", ".", ";", ",", "[", "]", "(", ")", "_:b", "@prefix",
    "rdfs:", "<http://www.w3.org/2000/01/rdf-schema#>", "@base", "#", "\n", "1", "1.5e3", "true",
    "\\u0000", "<\u0001>", "\u0000", "{", "}", "GRAPH", "<script>", "&amp;",
])


@settings(FUZZ)
@given(pieces=st.lists(RDF_PIECES, min_size=1, max_size=30),
       media=st.sampled_from(["text/turtle", "application/trig", "application/n-triples",
                              "application/ld+json", "application/rdf+xml"]))
def test_rdf_like_text_never_breaks_validation(server, pieces, media):
    data = " ".join(pieces)
    reply = call(server.url + "/validate", "POST", data,
                 {"Content-Type": media, "Accept": "application/json"})
    assert reply.status in (200, 400, 413), (data, media, reply.status, reply.text[:300])
    if reply.status == 200:
        assert "conforms" in json.loads(reply.body)
    else:
        refused(reply, reply.status)


@settings(FUZZ)
@given(path=st.text(min_size=1, max_size=40))
@example(path="/0")
@example(path="a//b c")
def test_any_path_under_id_and_doc_is_answered(server, path):
    quoted = urllib.parse.quote(path, safe="/")
    for prefix in ("/id/", "/doc/", "/graph/"):
        url = server.url + prefix + quoted
        reply = call(url, headers={"Accept": "text/turtle"})
        if "//" in prefix + quoted and reply.status == 308:
            # an empty path segment: Werkzeug redirects to the path with the slashes merged
            merged = re.sub("/{2,}", "/", prefix + quoted)
            assert reply.headers["location"].endswith(merged), (path, reply.headers["location"])
            continue
        assert reply.status in (200, 303, 400, 404), (path, reply.status, reply.text[:300])


# --- size ------------------------------------------------------------------------------------


def test_enormous_queries_and_literals(server):
    big = "SELECT * WHERE { ?s ?p " + '"' + "长" * 40_000 + '" }'  # 120 kB of UTF-8
    refused(call(server.url + "/sparql", "POST", big,
                 {"Content-Type": "application/sparql-query"}), 413)
    # a URL this long is refused by gunicorn itself (its request-line limit, 8190 bytes)
    refused(call(server.url + "/sparql?" + urllib.parse.urlencode({"query": big})), 413, 414)
    refused(call(server.url + "/sparql", "POST", urllib.parse.urlencode({"query": big}), form()),
            413)
    huge = b"ASK {} #" + b"x" * 12_000_000  # beyond the upload limit: refused unread
    refused(call(server.url + "/sparql", "POST", huge,
                 {"Content-Type": "application/sparql-query"}), 413)
    refused(call(server.url + "/validate", "POST", huge, {"Content-Type": "text/turtle"}), 413)
    fits = "ASK { ?s ?p " + '"' + "x" * 90_000 + '" }'  # under the limit: answered
    reply = call(server.url + "/sparql", "POST", fits, {"Content-Type": "application/sparql-query"})
    assert reply.status == 200 and json.loads(reply.body)["boolean"] is False


def test_overly_long_headers_are_refused_by_the_http_server(server):
    assert call(server.url + "/health", headers={"X-Big": "a" * 10_000}).status == 431
    assert call(server.url + "/health", headers={f"X-H{i}": "a" for i in range(120)}
                ).status == 431


def test_an_overly_long_url_is_refused_without_costing_a_worker(server):
    """gunicorn with `limit_request_line: 0` reads a request line of any length, scanning its
    buffer again for each piece that arrives: tens of megabytes keep a worker busy past its
    timeout, and the worker is killed."""
    workers = workers_of(server.process.pid, 2)
    reply = call(server.url + "/sparql?query=" + "a" * 32_000_000)
    assert 400 <= reply.status < 500, reply.status
    assert sorted(children(server.process.pid)) == workers


def test_an_enormous_literal_can_be_validated(server):
    data = ('<https://w3id.org/qdkg/id/district/chengyang> '
            '<http://www.w3.org/2000/01/rdf-schema#comment> "' + "长" * 1_000_000 + '"@zh .')
    reply = call(server.url + "/validate", "POST", data,
                 {"Content-Type": "text/turtle", "Accept": "application/json"})
    assert reply.status == 200 and "conforms" in json.loads(reply.body)


def test_huge_values_blocks(server):
    rows = " ".join(f'"{i}"' for i in range(20_000))  # about 150 kB: over the query limit
    refused(call(server.url + "/sparql", "POST", f"SELECT ?x WHERE {{ VALUES ?x {{ {rows} }} }}",
                 {"Content-Type": "application/sparql-query"}), 413)
    rows = " ".join(str(i) for i in range(15_000))  # under it: answered, cut at the row limit
    reply = call(server.url + "/sparql", "POST", f"SELECT ?x WHERE {{ VALUES ?x {{ {rows} }} }}",
                 {"Content-Type": "application/sparql-query"})
    assert reply.status == 200
    assert reply.headers.get("x-qdkg-truncated") == "true"
    assert len(json.loads(reply.body)["results"]["bindings"]) == 10_000


# --- nesting and chaining: a stack overflow in the engine must not take a process with it -------


def _nested(kind: str, depth: int) -> str:
    if kind == "groups":
        return "SELECT * WHERE " + "{" * depth + " ?s ?p ?o " + "}" * depth
    if kind == "expressions":
        return "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * depth + "1" + ")" * depth + ") }"
    return "SELECT * WHERE { " + " ".join(f"BIND({i} AS ?v{i})" for i in range(depth)) + " }"


def _health(url: str) -> None:
    reply = call(url + "/health")
    assert reply.status == 200 and json.loads(reply.body)["status"] == "ok"


@pytest.mark.parametrize("kind, depth", [("groups", 5000), ("expressions", 8000),
                                         ("binds", 4000)])
def test_deeply_nested_queries_are_refused_and_every_process_survives(server, kind, depth):
    workers = workers_of(server.process.pid, 2)
    reply = call(server.url + "/sparql", "POST", _nested(kind, depth),
                 {"Content-Type": "application/sparql-query"})
    for _ in range(4):  # whichever worker answers: it still answers queries
        _health(server.url)
        assert call(server.url + "/sparql?" + urllib.parse.urlencode({"query": LABEL_QUERY})
                    ).status == 200
    assert sorted(children(server.process.pid)) == workers  # no worker died
    # no query process left behind: each worker has its zygote, which has at most one child
    assert all(len(children(worker)) <= 1 for worker in workers)
    assert all(len(children(z)) <= 1 for worker in workers for z in children(worker))
    refused(reply, 400, 413)


def test_deep_service_check_is_refused_not_a_crash(server):
    """A query whose SERVICE clauses the tokenizer cannot read alone goes to rdflib's parser,
    which recurses per level too."""
    query = ("SELECT * WHERE { ?s ?p ?o FILTER(?o<'x>') SERVICE <http://127.0.0.1:9/> {} "
             + "{" * 100 + "}" * 100 + " }")
    refused(call(server.url + "/sparql", "POST", query,
                 {"Content-Type": "application/sparql-query"}), 400)


@pytest.mark.parametrize("kind, depth", [("groups", 5000), ("binds", 4000)])
def test_deeply_nested_updates_are_refused_and_the_worker_survives(writable, kind, depth):
    workers = workers_of(writable.process.pid, 2)
    where = _nested(kind, depth).split("WHERE", 1)[1]
    sparql = f"INSERT {{ GRAPH <{ARTICLE}> {{ <{QID}district/chengyang> " \
             f"<http://www.w3.org/2000/01/rdf-schema#comment> \"deep\"@en }} }} WHERE {where}"
    text = refused(update(writable.url, sparql), 400)
    assert "nothing was changed" in text
    assert sorted(children(writable.process.pid)) == workers
    _health(writable.url)


def test_deeply_nested_json_ld_is_refused(server):
    data = ('{"@id": "https://w3id.org/qdkg/id/x", "http://a/p": ' + '{"http://a/p": ' * 6000
            + "1" + "}" * 6000 + "}")
    assert "nests too deeply" in refused(call(server.url + "/validate", "POST", data, {
        "Content-Type": "application/ld+json"}), 400)
    deep_list = '<https://w3id.org/qdkg/id/x> <http://a/p> ' + "(" * 5000 + ")" * 5000 + " ."
    reply = call(server.url + "/validate", "POST", deep_list,
                 {"Content-Type": "text/turtle", "Accept": "application/json"})
    assert reply.status in (200, 400)  # Turtle's parser does not recurse: an answer either way
    _health(server.url)


# --- content types and parameters ------------------------------------------------------------


@pytest.mark.parametrize("path, headers, statuses", [
    ("/sparql", {}, (415,)),
    ("/sparql", {"Content-Type": "text/plain"}, (415,)),
    ("/sparql", {"Content-Type": "application/sparql-update"}, (415,)),
    ("/sparql", {"Content-Type": "application/json"}, (415,)),
    ("/validate", {}, (415,)),
    ("/validate", {"Content-Type": "application/octet-stream"}, (415,)),
    ("/validate", {"Content-Type": "text/html"}, (415,)),
    ("/validate", {"Content-Type": "multipart/form-data"}, (400, 415)),  # no boundary
])
def test_wrong_and_missing_content_types(server, path, headers, statuses):
    refused(call(server.url + path, "POST", b"ASK {}", headers), *statuses)


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "text/plain"},
                                     {"Content-Type": "application/sparql-query"}])
def test_writes_with_the_wrong_content_type_change_nothing(writable, headers):
    refused(call(writable.url + "/update", "POST", insert("<a:b> <a:b> <a:b> ."),
                 authorised(headers)), 415)
    refused(call(writable.url + f"/store?graph={urllib.parse.quote(ARTICLE)}", "POST",
                 b"<a:b> <a:b> <a:b> .", authorised(headers)), 415)


@pytest.mark.parametrize("target, body, words", [
    ("/sparql?query=ASK%7B%7D&update=CLEAR%20ALL", None, "/update"),
    ("/sparql?query=ASK%7B%7D&query=ASK%7B%7D", None, "exactly one"),
    ("/sparql?query=ASK%7B%7D", "query=ASK%7B%7D", "exactly one"),  # one in the URL, one in the form
    ("/sparql", "query=ASK%7B%7D&update=CLEAR%20ALL", "/update"),
    ("/store?graph=https%3A%2F%2Fw3id.org%2Fqdkg%2Fgraph%2Farticle&default", None, "not both"),
])
def test_conflicting_parameters(server, target, body, words):
    headers = form() if body else {}
    text = refused(call(server.url + target, "POST" if body else "GET", body, headers), 400)
    assert words in text


def test_conflicting_write_parameters_change_nothing(writable):
    refused(call(writable.url + "/update?using-graph-uri=" + urllib.parse.quote(ARTICLE), "POST",
                 insert("<a:b> <a:b> <a:b> ."),
                 authorised({"Content-Type": "application/sparql-update"})), 400)
    refused(call(writable.url + "/store?default&graph=" + urllib.parse.quote(ARTICLE), "PUT",
                 b"<a:b> <a:b> <a:b> .", authorised({"Content-Type": "text/turtle"})), 400)


# --- IRIs with control characters ------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "/id/district/cheng%00yang", "/id/district/cheng%0Ayang", "/doc/district/cheng%1Byang",
    "/graph/article%7F", "/doc/district/cheng%C2%85yang",  # U+0085, a C1 control
    "/store?graph=https%3A%2F%2Fw3id.org%2Fqdkg%2Fgraph%2Farticle%00",
    "/store?graph=https%3A%2F%2Fw3id.org%2F%20qdkg",
    "/sparql?query=ASK%7B%7D&default-graph-uri=https%3A%2F%2Fw3id.org%2Fqdkg%2Fgraph%2F%0Aarticle",
    "/sparql?query=ASK%7B%7D&named-graph-uri=%3Chttps%3A%2F%2Fw3id.org%2Fqdkg%2Fgraph%2Farticle%3E",
    "/sparql?query=ASK%7B%7D%00",
    "/query?lang=zh%07",
])
def test_control_characters_in_iris_and_parameters(server, target):
    text = refused(call(server.url + target), 400)
    assert "control character" in text or "IRI" in text


@pytest.mark.parametrize("iri", ["https://w3id.org/qdkg/id/x\\u0000y", "https://w3id.org/qdkg/id/x y",
                                 "https://w3id.org/qdkg/id/x\\u000Ay", "https://w3id.org/qdkg/id/<x>"])
def test_control_characters_in_submitted_iris(writable, iri):
    triple = f'<{iri}> <http://www.w3.org/2000/01/rdf-schema#comment> "x"@en .'
    refused(call(writable.url + "/validate", "POST", triple, {"Content-Type": "text/turtle"}), 400)
    refused(update(writable.url, insert(triple)), 400)
    refused(call(writable.url + f"/store?graph={urllib.parse.quote(ARTICLE)}", "POST", triple,
                 authorised({"Content-Type": "application/n-triples"})), 400)


# --- labels with HTML and script -------------------------------------------------------------

SCRIPT = '<script>alert("qdkg")</script>'
IMAGE = "<img src=x onerror=alert(1)>"


def test_html_in_labels_is_escaped_in_every_page(writable):
    span_path, span_turtle = span()
    facts = f"""<project/xss-road> a qdkg:RoadProject ;
        rdfs:label '{SCRIPT}'@zh , "{IMAGE} & \\"quotes\\""@en ;
        rdfs:comment "</textarea><script>alert(2)</script>"@en ;
        qdkg:underInitiative <initiative/urban-renewal-three-year-campaign> ;
        qdkg:evidence <{span_path}> ;
        qdkg:locatedIn <district/chengyang> .
    {span_turtle}"""
    report = call(writable.url + "/validate", "POST", turtle(facts),
                  {"Content-Type": "text/turtle", "Accept": "text/html"})
    pages = [report]
    submitted = call(writable.url + "/validate", "POST",
                     urllib.parse.urlencode({"data": turtle(facts).decode(), "type": "text/turtle"}),
                     form(Accept="text/html"))
    pages.append(submitted)
    committed = call(writable.url + f"/store?graph={urllib.parse.quote(ARTICLE)}", "POST",
                     turtle(facts), authorised({"Content-Type": "text/turtle", "Accept": "text/html"}))
    assert committed.status == 200, committed.text[:2000]
    pages.append(committed)
    for lang in ("zh", "en"):
        pages.append(call(writable.url + f"/doc/project/xss-road.html?lang={lang}"))
        pages.append(call(writable.url + f"/doc/district/chengyang.html?lang={lang}"))
    pages.append(call(writable.url + "/doc/project/xss-road-missing", headers={"Accept": "text/html"}))
    for page in pages:
        assert page.status in (200, 404), page.text[:500]
        assert page.headers["content-type"].startswith("text/html")
        for raw in (SCRIPT, IMAGE, "<script>alert(2)", "</textarea><script>"):
            assert raw not in page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "unsafe-inline" not in policy
        assert page.headers["x-content-type-options"] == "nosniff"
    assert "&lt;script&gt;alert(&#34;qdkg&#34;)&lt;/script&gt;" in pages[3].text
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[5].text


def test_hostile_requests_left_the_data_as_it_was(writable):
    """Runs last in this module: the refused requests above changed nothing (the accepted write
    of the HTML test is the only difference, and it is taken out again)."""
    after = dump(writable.url)
    added = set(after) - set(writable.before)  # type: ignore[attr-defined]
    removed = set(writable.before) - set(after)  # type: ignore[attr-defined]
    assert not removed
    assert added and all("xss-road" in quad or "/graph/change/" in quad
                         or "/graph/inferred" in quad for quad in added), sorted(added)[:5]
