"""The linked-data pages in real headless Chromium against a real server process: they render
without JavaScript, show the label, the highlighted quote and working links, switch between zh
and en, and break no Content-Security-Policy rule. Screenshots go to test-artifacts/linked-data/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qdkg.app import runtime_of
from qdkg.namespaces import BASE, QDKG, QID

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "linked-data"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def _chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    found = shutil.which("chromium")
    if found:
        return found
    pytest.fail(
        "Chromium is needed for the linked-data page tests and is not installed: "
        "run `apt-get install -y chromium` and try again.",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is needed: pip install -e '.[test]'", pytrace=False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture()
def page_in(browser, server):
    """A fresh page in a given locale, JavaScript off (the pages need none); fails the test on
    any console error but the `expected` one (a CSP violation is reported as one)."""
    opened = []

    def open_page(locale: str, expected: str | None = None):
        context = browser.new_context(locale=locale, java_script_enabled=False,
                                      viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text)
                if m.type == "error" and (expected is None or expected not in m.text) else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        opened.append((context, errors))
        return page

    yield open_page
    for context, errors in opened:
        context.close()
        assert errors == [], f"the browser reported errors: {errors}"


def _label(app, iri: str, lang: str) -> str:
    query = f'SELECT ?l WHERE {{ <{iri}> <{LABEL}> ?l FILTER(LANG(?l) = "{lang}") }}'
    rows = list(runtime_of(app).store.query(query))
    assert rows, f"{iri} has no @{lang} label"
    return rows[0]["l"].value


def _statement(app) -> tuple[str, str]:
    query = (
        f"SELECT ?s ?anchor WHERE {{ ?s <{QDKG.measure}> <{QID['measure/investment-completed']}> ;"
        f" <{QDKG.unit}> <{QID['unit/cny']}> ; <{QDKG.evidence}> ?span ."
        " ?span <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#anchorOf> ?anchor"
        " } ORDER BY ?s LIMIT 1"
    )
    rows = list(runtime_of(app).store.query(query))
    assert rows, "no investment statement with evidence in the graph"
    return rows[0]["s"].value, rows[0]["anchor"].value


def test_statement_page_shows_label_quote_and_numbers(page_in, server, app):
    iri, anchor = _statement(app)
    page = page_in("en-US")
    response = page.goto(server.url + "/" + iri.removeprefix(BASE))
    assert response is not None and response.ok
    assert page.url.startswith(server.url + "/doc/statement/")
    assert page.locator("h1").inner_text() == _label(app, iri, "en")
    mark = page.locator("section.evidence mark").first
    assert mark.is_visible() and mark.inner_text() == anchor
    assert "CNY" in page.locator("dd.normalised").inner_text()
    assert page.locator("link[rel=stylesheet]").count() == 1
    background = mark.evaluate("m => getComputedStyle(m).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), "site.css did not load"
    page.screenshot(path=str(ARTIFACTS / "statement-en.png"), full_page=True)


def test_links_work_follow_one(page_in, server, app):
    page = page_in("en-US")
    page.goto(server.url + "/id/district/chengyang")
    link = page.locator("section.facts table.facts a[href^='/id/statement/']").first
    target = link.get_attribute("href")
    label = link.inner_text()
    link.click()
    page.wait_for_load_state()
    assert page.url == server.url + "/doc/" + target.removeprefix("/id/")
    assert page.locator("h1").inner_text() == label
    assert page.locator("section.evidence mark").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "followed-statement.png"), full_page=True)


def test_language_switch_persists_across_links(page_in, server, app):
    district = str(QID["district/chengyang"])
    page = page_in("en-US")
    page.goto(server.url + "/id/district/chengyang")
    assert page.locator("h1").inner_text() == _label(app, district, "en")
    page.screenshot(path=str(ARTIFACTS / "district-en.png"))
    page.locator("nav.lang a[hreflang=zh]").click()
    page.wait_for_load_state()
    assert "lang=zh" in page.url
    assert page.locator("h1").inner_text() == _label(app, district, "zh")
    assert page.locator("html").get_attribute("lang").startswith("zh")
    page.screenshot(path=str(ARTIFACTS / "district-zh.png"))
    link = page.locator("section.properties a[href^='/id/city/']").first
    target = link.get_attribute("href")
    link.click()
    page.wait_for_load_state()
    assert "lang=zh" in page.url
    city = BASE + target.split("?")[0].lstrip("/")
    assert page.locator("h1").inner_text() == _label(app, city, "zh")


def test_home_page_lists_and_links(page_in, server, app):
    page = page_in("zh-CN")
    page.goto(server.url + "/")
    district = str(QID["district/xihaian"])
    link = page.locator("section.districts a", has_text=_label(app, district, "zh"))
    assert link.count() == 1
    page.screenshot(path=str(ARTIFACTS / "home-zh.png"))
    link.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == _label(app, district, "zh")


def test_ontology_term_iri_lands_on_its_documentation(page_in, server, app):
    page = page_in("en-US")
    page.goto(server.url + "/ontology#QuantitativeStatement")
    term = page.locator("#QuantitativeStatement")
    assert term.locator("h3").inner_text().startswith(
        _label(app, str(QDKG.QuantitativeStatement), "en"))
    box = term.bounding_box()
    assert box is not None and -2 <= box["y"] < 200, f"not scrolled to the term: {box}"
    page.screenshot(path=str(ARTIFACTS / "ontology-term-en.png"))


def test_not_found_page_suggests(page_in, server):
    page = page_in("en-US", expected="status of 404")
    response = page.goto(server.url + "/id/district/chengyan")
    assert response is not None and response.status == 404
    page.locator("a[href='/id/district/chengyang']").click()
    page.wait_for_load_state()
    assert page.url == server.url + "/doc/district/chengyang"
