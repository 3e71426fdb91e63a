"""The query page in real headless Chromium against a real server process.

Every request the page makes is recorded, and any request to another origin is refused and fails
the test: the page must work with the network cut off from everything but the service. Console
errors (a Content-Security-Policy violation among them) fail the test too. Screenshots go to
test-artifacts/query-page/.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import pytest
from rdflib import Graph

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "query-page"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
TIMEOUT_MS = 20_000
RESULTS_JSON = "application/sparql-results+json"
SPARQL_RESULTS = "{http://www.w3.org/2005/sparql-results#}result"
ROW_VALUES = (
    "rows => rows.map(r => [...r.cells].map("
    "c => c.hasAttribute('data-value') ? c.dataset.value : null))"
)
FIRST_COMPLETION = (
    "() => document.querySelector('#qp-editor').shadowRoot"
    ".querySelector('.cm-tooltip-autocomplete li .cm-completionLabel')?.textContent"
)


def http(url: str, *, accept: str, form: dict[str, str] | None = None) -> bytes:
    """GET (or POST a form) to the test server; raises HTTPError on 4xx/5xx."""
    assert url.startswith("http://127.0.0.1:"), url
    body = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=body, headers={"Accept": accept})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (http, checked)
        return response.read()  # type: ignore[no-any-return]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "Chromium is needed for the query page's browser tests and is not installed: "
        "run `make browser` (or `apt-get install -y chromium`) and try again.",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is needed: pip install -e '.[test]'", pytrace=False)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class Session:
    page: object
    origin: str
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def open(self, path: str) -> None:
        self.page.goto(self.origin + path)
        self.page.wait_for_selector("#query-page[data-ready=true]", state="attached")

    def run(self) -> None:
        self.page.click("#qp-run")
        self.finished()

    def finished(self) -> None:
        self.page.wait_for_selector(
            "#query-page[data-state=done], #query-page[data-state=error]", state="attached"
        )

    def set_query(self, text: str) -> None:
        self.page.click(".cm-content")
        self.page.keyboard.press("Control+A")
        # Deleting first: Chromium's own editing would otherwise carry the old text's computed
        # style onto the inserted text as a style attribute, which the page's CSP refuses.
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(text)

    def editor_text(self) -> str:
        lines = self.page.eval_on_selector_all(".cm-line", "lines => lines.map(l => l.textContent)")
        return "\n".join(lines)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def table(self) -> list[list[str | None]]:
        """Each row's cells as the RDF term values they show (None when unbound)."""
        return self.page.eval_on_selector_all(".qp-table tbody tr", ROW_VALUES)

    def attribute_list(self, selector: str, script: str) -> list:
        return self.page.eval_on_selector_all(selector, script)

    def assert_stayed_home(self) -> None:
        assert self.requests, "the page made no requests at all"
        assert not self.refused, f"requests to other origins: {self.refused}"
        assert all(url.startswith(self.origin + "/") for url in self.requests)
        assert not self.problems, "\n".join(self.problems)


def _is_problem(message) -> bool:  # type: ignore[no-untyped-def]
    # Chromium logs every 4xx response; the syntax-error test provokes one on purpose.
    return message.type == "error" and "responded with a status of 400" not in message.text


@pytest.fixture()
def session(browser, server) -> Iterator[Session]:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    state = Session(page, server.url)

    def guard(route) -> None:  # type: ignore[no-untyped-def]
        url = route.request.url
        if url.startswith(server.url + "/"):
            route.continue_()
        else:
            state.refused.append(url)
            route.abort()

    context.route("**/*", guard)
    page.on("request", lambda request: state.requests.append(request.url))
    page.on("pageerror", lambda error: state.problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: state.problems.append(f"console: {message.text}")
        if _is_problem(message) else None,
    )
    yield state
    context.close()


def solutions(server, query: str) -> tuple[list[str], list[list[str | None]]]:
    """The expected answer, straight from the endpoint over HTTP."""
    body = json.loads(http(server.url + "/sparql", accept=RESULTS_JSON, form={"query": query}))
    names = body["head"]["vars"]
    rows = [[row[v]["value"] if v in row else None for v in names]
            for row in body["results"]["bindings"]]
    return names, rows


@pytest.fixture(scope="module")
def examples(server) -> list[dict]:
    listed = json.loads(http(server.url + "/query/examples.json", accept="application/json"))
    assert listed, "no example queries are installed"
    return listed  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def vocabulary(server) -> dict:
    return json.loads(http(server.url + "/query/vocabulary.json", accept="application/json"))  # type: ignore[no-any-return]


def chart_example(examples: list[dict]) -> dict:
    """An example that opens as a chart, so the same example covers table, chart and sharing."""
    charted = [e for e in examples
               if e["view"] in ("bar", "line") and "SELECT" in e["query"].upper()]
    assert charted, "no example query opens as a chart (# view: bar)"
    return charted[0]


def assert_same_rows(shown: list, expected: list, ordered: bool) -> None:
    if ordered:
        assert shown == expected[: len(shown)]
    elif len(expected) <= len(shown):
        assert Counter(map(tuple, shown)) == Counter(map(tuple, expected))
    else:
        assert not Counter(map(tuple, shown)) - Counter(map(tuple, expected))


def test_example_runs_and_the_table_shows_the_endpoints_rows(
    session, server, examples, vocabulary
):
    example = chart_example(examples)
    session.open("/query?lang=en")
    session.page.click(f"[data-example='{example['name']}']")
    assert example["query"].strip().splitlines()[-1] in session.editor_text()
    session.run()
    names, expected = solutions(server, example["query"])
    assert expected, f"example {example['name']} has no answers"
    session.page.click("[data-view=table]")
    session.shot("example-table")

    shown = session.table()
    headers = session.page.locator(".qp-table thead th").all_inner_texts()
    assert headers == [f"?{v}" for v in names]
    assert_same_rows(shown, expected, ordered="ORDER BY" in example["query"].upper())
    assert session.page.inner_text("#qp-count") == f"{len(expected)} rows"
    assert re.fullmatch(r"\d+ ms", session.page.inner_text("#qp-time"))

    # IRIs link to the service's own pages and show the graph's English label.
    labels = {e["iri"]: e["label"] for e in vocabulary["entities"] + vocabulary["terms"]}
    links = session.attribute_list(
        ".qp-table td[data-type=uri] a",
        "links => links.map(a => [a.closest('td').dataset.value, a.getAttribute('href'),"
        " a.textContent])",
    )
    assert links
    for iri, href, text in links:
        if iri.startswith("https://w3id.org/qdkg/"):
            assert href == "/" + iri[len("https://w3id.org/qdkg/"):]
        if iri in labels and "en" in labels[iri]:
            assert text.startswith(labels[iri]["en"])
    # Numbers are formatted for the page language, and mean what the endpoint said.
    numbers = session.attribute_list(
        ".qp-table td.qp-number", "cells => cells.map(c => [c.dataset.value, c.textContent])"
    )
    for value, text in numbers:
        assert float(text.replace(",", "")) == pytest.approx(float(value))

    # Every download link answers in its format, read by an independent parser.
    downloads = dict(session.attribute_list(
        "#qp-download-links a", "links => links.map(a => [a.dataset.format, a.href])"
    ))
    assert sorted(downloads) == ["csv", "json", "tsv", "xml"]
    for name, url in downloads.items():
        assert url.startswith(server.url + "/sparql?")
        text = http(url, accept="*/*").decode("utf-8")
        if name == "json":
            count = len(json.loads(text)["results"]["bindings"])
        elif name == "xml":
            results = ElementTree.fromstring(text)  # noqa: S314 (our own server's output)
            count = len(results.findall(f".//{SPARQL_RESULTS}"))
        else:
            delimiter = "," if name == "csv" else "\t"
            count = len(list(csv.reader(io.StringIO(text), delimiter=delimiter))) - 1
        assert count == len(expected), name
    session.assert_stayed_home()


def test_chart_view_and_the_shared_url_reproduce_the_result(session, browser, server, examples):
    example = chart_example(examples)
    session.open("/query?lang=zh")
    session.page.click(f"[data-example='{example['name']}']")
    session.run()
    session.page.click("[data-view=bar]")
    names, expected = solutions(server, example["query"])
    bar_values = "bars => bars.map(b => Number(b.dataset.value))"
    bars = session.attribute_list("svg.qp-chart rect.qp-bar", bar_values)
    column = names.index(session.page.input_value("select[data-column=value]").lstrip("?"))
    assert bars == [float(row[column]) for row in expected if row[column] is not None][:200]
    session.shot("example-bar-chart")

    shared = session.page.url
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(shared).query)
    assert params["view"] == ["bar"] and params["lang"] == ["zh"]
    assert params["query"][0].strip() == session.editor_text().strip()

    session.page.click("[data-view=line]")
    assert session.page.locator("svg.qp-chart polyline.qp-line").count() == 1
    assert "view=line" in session.page.url
    session.page.click("[data-view=table]")
    table = session.table()

    # A second browser context, as a colleague opening the link: it runs by itself.
    other = browser.new_context(locale="zh-CN")
    try:
        page = other.new_page()
        page.goto(shared)
        page.wait_for_selector("#query-page[data-state=done]", state="attached", timeout=TIMEOUT_MS)
        assert page.eval_on_selector_all("svg.qp-chart rect.qp-bar", bar_values) == bars
        assert page.get_attribute("[data-view=bar]", "aria-selected") == "true"
        page.click("[data-view=table]")
        assert page.eval_on_selector_all(".qp-table tbody tr", ROW_VALUES) == table
        page.screenshot(path=str(ARTIFACTS / "shared-link.png"), full_page=True)
    finally:
        other.close()
    session.assert_stayed_home()


def completion_labels(session: Session) -> list[str]:
    session.page.wait_for_selector(".cm-tooltip-autocomplete li")
    return session.page.locator(".cm-tooltip-autocomplete li .cm-completionLabel").all_inner_texts()


def test_completion_offers_our_terms_and_entities_and_declares_prefixes(session, vocabulary):
    properties = {t["curie"] for t in vocabulary["terms"]
                  if t["kind"] == "property" and t["curie"].startswith("qdkg:")}
    session.open("/query?lang=en")
    session.set_query("")
    session.page.keyboard.type("SELECT * WHERE {\n?s qdkg:")
    offered = completion_labels(session)
    assert set(offered) & properties, offered
    session.page.keyboard.type("meas")
    # Once the list is filtered to what was typed, the property comes before the class Measure.
    session.page.wait_for_function(f"{FIRST_COMPLETION} === 'qdkg:measure'")
    option = session.page.locator(".cm-tooltip-autocomplete li").first
    detail = option.locator(".cm-completionDetail").inner_text()
    measure = next(t for t in vocabulary["terms"] if t["curie"] == "qdkg:measure")
    assert measure["label"]["en"] in detail and measure["label"]["zh"] in detail
    session.shot("completion-property")
    option.click()
    session.page.keyboard.type(" ?m .\n")
    # The qdkg: prefix is declared once typing pauses.
    session.page.wait_for_function(
        "() => [...document.querySelector('#qp-editor').shadowRoot.querySelectorAll('.cm-line')]"
        ".some(l => l.textContent === 'PREFIX qdkg: <https://w3id.org/qdkg/ontology#>')"
    )
    assert "?s qdkg:measure ?m ." in session.editor_text()

    for fragment, language in (("城阳", "zh"), ("Chengyang", "en")):
        session.page.keyboard.type(f"?s qdkg:about {fragment}")
        offered = completion_labels(session)
        assert offered[0] == "qid:district/chengyang", (fragment, offered)
        session.shot(f"completion-label-{language}")
        for _ in range(len(f"?s qdkg:about {fragment}")):
            session.page.keyboard.press("Backspace")
        session.page.keyboard.press("Escape")
    session.page.keyboard.type("?s qdkg:about 城阳区")
    session.page.wait_for_function(f"{FIRST_COMPLETION} === 'qid:district/chengyang'")
    # CodeMirror ignores Enter for 75 ms after the list changes, so a late keystroke meant for
    # the text is not taken as picking an option; a person's pause is longer than that.
    session.page.wait_for_timeout(300)
    session.page.keyboard.press("Enter")
    assert "?s qdkg:about <https://w3id.org/qdkg/id/district/chengyang>" in session.editor_text()
    session.assert_stayed_home()


def test_syntax_error_is_shown_at_its_line(session, server):
    query = "SELECT ?s ?label\nWHERE {\n  ?s ?p ?label .\n  ?s <not an iri> ?x .\n}\n"
    with pytest.raises(urllib.error.HTTPError) as answer:
        http(server.url + "/sparql", accept=RESULTS_JSON, form={"query": query})
    assert answer.value.code == 400
    message = answer.value.read().decode("utf-8")
    position = re.search(r"line (\d+)|at (\d+):\d+", message)
    assert position, message
    line = int(position.group(1) or position.group(2))
    assert line == 4, message

    session.open("/query?lang=en")
    session.set_query(query)
    session.run()
    assert session.page.get_attribute("#query-page", "data-state") == "error"
    assert session.page.is_visible("#qp-error")
    assert session.page.inner_text("#qp-error-line") == f"line {line}"
    shown = " ".join(session.page.inner_text("#qp-error-message").split())
    assert " ".join(message.strip().splitlines()[0].split()) in shown
    marked = session.attribute_list(
        ".cm-lintRange-error",
        "marks => marks.map(m => [...m.closest('.cm-content').querySelectorAll('.cm-line')]"
        ".indexOf(m.closest('.cm-line')) + 1)",
    )
    assert marked and set(marked) == {line}
    assert session.page.locator(".cm-lint-marker-error").count() == 1
    session.shot("syntax-error")
    session.assert_stayed_home()


def test_copied_snippets_run_and_give_the_same_rows(session, server, examples):
    example = chart_example(examples)
    names, expected = solutions(server, example["query"])
    session.open(f"/query?lang=en&query={urllib.parse.quote(example['query'])}")
    session.finished()
    session.page.click("#qp-copy-python")
    python = session.page.inner_text("#qp-snippet")
    assert f'SPARQLWrapper("{server.url}/sparql")' in python
    ran = subprocess.run([sys.executable, "-c", python], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert len([line for line in ran.stdout.splitlines() if line.strip()]) == len(expected)

    session.page.click("#qp-copy-curl")
    curl = session.page.inner_text("#qp-snippet")
    assert curl.startswith(f"curl '{server.url}/sparql'")
    if shutil.which("curl") is None:
        pytest.fail("curl is needed to run the copied curl command", pytrace=False)
    ran = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    bindings = json.loads(ran.stdout)["results"]["bindings"]
    assert [[row[v]["value"] if v in row else None for v in names] for row in bindings] == expected
    session.assert_stayed_home()


def test_language_switch_keeps_the_query(session):
    session.open("/query?lang=zh")
    assert session.page.inner_text("#qp-run") == "运行"
    session.set_query("SELECT * WHERE { ?s ?p ?o } LIMIT 3")
    session.run()
    assert session.page.locator(".qp-table tbody tr").count() == 3
    session.page.click("[data-view=line]")
    # The site's switch now leads to this query, not to the page as it was first loaded.
    session.page.click("a[hreflang=en]")
    session.finished()
    assert session.page.inner_text("#qp-run") == "Run"
    assert "LIMIT 3" in session.editor_text()
    assert session.page.get_attribute("[data-view=line]", "aria-selected") == "true"
    session.assert_stayed_home()


def test_prefix_declarations_are_inserted_where_sparql_allows(session):
    session.open("/query?lang=en")
    cases = session.page.evaluate(
        """async () => {
          const { prefixChange } = await import('/static/query/prefixes.js');
          const known = { qdkg: 'https://w3id.org/qdkg/ontology#',
                          rdfs: 'http://www.w3.org/2000/01/rdf-schema#' };
          const apply = (q) => {
            const c = prefixChange(q, known);
            return c ? q.slice(0, c.from) + c.insert + q.slice(c.from) : q;
          };
          return [
            'SELECT * WHERE { ?s a qdkg:Project }',
            '# note\\nSELECT * WHERE { ?s a qdkg:Project }',
            'PREFIX qdkg: <https://w3id.org/qdkg/ontology#> '
              + 'SELECT * WHERE { ?s rdfs:label "a:b" } # rdfs:x',
            'SELECT * WHERE { ?s <http://a/qdkg:b> "qdkg:c" ; ?p _:b }',
          ].map(apply);
        }"""
    )
    assert cases == [
        "PREFIX qdkg: <https://w3id.org/qdkg/ontology#>\n\nSELECT * WHERE { ?s a qdkg:Project }",
        "# note\nPREFIX qdkg: <https://w3id.org/qdkg/ontology#>\n\n"
        "SELECT * WHERE { ?s a qdkg:Project }",
        "PREFIX qdkg: <https://w3id.org/qdkg/ontology#>\n"
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>"
        ' SELECT * WHERE { ?s rdfs:label "a:b" } # rdfs:x',
        'SELECT * WHERE { ?s <http://a/qdkg:b> "qdkg:c" ; ?p _:b }',
    ]
    session.assert_stayed_home()


def test_describe_and_ask_results(session, server):
    iri = "https://w3id.org/qdkg/id/district/chengyang"
    describe = f"DESCRIBE <{iri}>"
    triples = http(server.url + "/sparql?" + urllib.parse.urlencode({"query": describe}),
                   accept="application/n-triples")
    expected = Graph().parse(data=triples.decode("utf-8"), format="nt")
    assert len(expected) > 0

    # The linked-data pages link here with a DESCRIBE in the URL; it runs on arrival.
    session.open("/query?lang=en&query=" + urllib.parse.quote(describe))
    session.finished()
    assert session.page.inner_text("#qp-count") == f"{len(expected)} triples"
    shown = set()
    while True:
        shown |= {tuple(row) for row in session.table()}
        if session.page.is_hidden("#qp-pager") or session.page.is_disabled("#qp-next"):
            break
        session.page.click("#qp-next")
    assert shown == {(str(s), str(p), str(o)) for s, p, o in expected}
    formats = "links => links.map(a => a.dataset.format)"
    downloads = session.attribute_list("#qp-download-links a", formats)
    assert sorted(downloads) == ["jsonld", "ntriples", "rdfxml", "turtle"]
    turtle = session.page.get_attribute("#qp-download-links a[data-format=turtle]", "href")
    document = http(server.url + turtle, accept="*/*").decode("utf-8")
    assert len(Graph().parse(data=document, format="turtle")) == len(expected)
    session.shot("describe")

    session.set_query(f"ASK {{ <{iri}> ?p ?o }}")
    session.run()
    assert session.page.get_attribute(".qp-boolean", "data-boolean") == "true"
    assert sorted(session.attribute_list("#qp-download-links a", formats)) == ["json", "xml"]
    session.assert_stayed_home()


def test_long_results_are_paged_and_a_cut_result_says_so(browser, server_factory):
    limited = server_factory(env={"QDKG_MAX_ROWS": "60"})
    context = browser.new_context(locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        flags: list[str | None] = []
        page.on("response", lambda r: flags.append(r.headers.get("x-qdkg-truncated"))
                if r.url.endswith("/sparql") else None)
        query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 200"
        page.goto(limited.url + "/query?lang=en&query=" + urllib.parse.quote(query))
        page.wait_for_selector("#query-page[data-state=done]", state="attached")
        assert flags == ["true"]
        assert page.is_visible("#qp-truncated")
        assert "first 60 rows" in page.inner_text("#qp-truncated")
        assert page.inner_text("#qp-count") == "60 rows"
        assert page.locator(".qp-table tbody tr").count() == 50
        assert page.inner_text("#qp-page-range") == "Rows 1–50 of 60"
        first = page.inner_text(".qp-table tbody tr >> nth=0")
        page.click("#qp-next")
        assert page.locator(".qp-table tbody tr").count() == 10
        assert page.inner_text("#qp-page-range") == "Rows 51–60 of 60"
        assert page.is_disabled("#qp-next")
        page.click("#qp-previous")
        assert page.inner_text(".qp-table tbody tr >> nth=0") == first
        page.screenshot(path=str(ARTIFACTS / "truncated.png"), full_page=True)
    finally:
        context.close()


def test_a_browsers_get_of_the_endpoint_lands_here_with_its_dataset(session, server):
    query = "SELECT (COUNT(*) AS ?triples) WHERE { ?s ?p ?o }"
    graph = "https://w3id.org/qdkg/graph/ontology"
    protocol = urllib.parse.urlencode({"query": query, "default-graph-uri": graph})
    body = json.loads(http(f"{server.url}/sparql?{protocol}", accept=RESULTS_JSON))
    in_graph = body["results"]["bindings"][0]["triples"]["value"]
    _, everything = solutions(server, query)
    assert in_graph != everything[0][0]

    session.page.goto(f"{server.url}/sparql?{protocol}")
    session.finished()
    assert urllib.parse.urlsplit(session.page.url).path == "/query"
    assert session.table() == [[in_graph]]
    assert graph in session.page.inner_text("#qp-dataset")
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(session.page.url).query)
    assert params["default-graph-uri"] == [graph]
    session.page.click("#qp-copy-python")
    assert f'sparql.addDefaultGraph("{graph}")' in session.page.inner_text("#qp-snippet")
    session.assert_stayed_home()
