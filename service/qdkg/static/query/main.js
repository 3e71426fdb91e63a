// The query page: wires the editor, the example list, running, results, views and sharing.
import { renderChart } from "./chart.js";
import { createEditor } from "./editor.js";
import { QueryError, runQuery } from "./run.js";
import {
  VIEWS, curlSnippet, downloadFormats, downloadUrl, pageUrl, pythonSnippet, readState,
} from "./share.js";
import { pageCount, pageRange, renderTable } from "./table.js";
import { TermView } from "./terms.js";
import { el, format, queryForm } from "./util.js";

const STARTER = {
  en: 'SELECT ?area ?label WHERE {\n  ?area a qdkg:DistrictLevelDivision ;\n        rdfs:label ?label .\n  FILTER(LANG(?label) = "en")\n}\n',
  zh: 'SELECT ?area ?label WHERE {\n  ?area a qdkg:DistrictLevelDivision ;\n        rdfs:label ?label .\n  FILTER(LANG(?label) = "zh")\n}\n',
};

const root = document.getElementById("query-page");
const config = {
  lang: root.dataset.lang,
  endpoint: root.dataset.endpoint,
  baseIri: root.dataset.baseIri,
  messages: JSON.parse(root.dataset.messages),
};
const m = config.messages;
const $ = (id) => document.getElementById(id);

const state = {
  view: "table", page: 0, result: null, form: "SELECT", chart: {}, running: false, graphs: [],
};

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function endpointUrl() {
  return new URL(config.endpoint, location.href).href;
}

function updateUrl(query) {
  const url = pageUrl(location, { query, view: state.view, lang: config.lang, graphs: state.graphs });
  history.replaceState(null, "", url);
  // The site's language switch links to this page in the other language: keep it on this query.
  for (const link of document.querySelectorAll("a[hreflang]")) {
    if (new URL(link.href, location.href).pathname !== location.pathname) continue;
    link.href = pageUrl(location, { query, view: state.view, lang: link.hreflang, graphs: state.graphs });
  }
}

function showError(error, editor) {
  $("qp-error").hidden = false;
  $("qp-error-message").textContent = error.status === 0 ? format(m.network_error, { message: error.message }) : error.message;
  $("qp-error-line").textContent = error.line ? format(m.error_line, { line: error.line }) : "";
  if (error.line) editor.showError(error.line, error.column, error.message);
}

function renderDownloads(query) {
  const links = downloadFormats(state.form).map((f) =>
    el("a", { href: downloadUrl(config.endpoint, query, f, state.graphs), download: "", "data-format": f }, f));
  $("qp-download-links").replaceChildren(...links.flatMap((a, i) => (i ? [" · ", a] : [a])));
}

function render(terms) {
  for (const tab of document.querySelectorAll("[data-view]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === state.view));
  }
  const result = state.result;
  if (!result) return;
  const output = $("qp-output");
  const paged = state.view === "table" && result.rows.length > 0;
  if (state.view === "table") renderTable(output, result, state.page, terms, m);
  else {
    renderChart(output, result, state.view, terms, m, state.chart, (choice) => {
      state.chart = choice;
      render(terms);
    });
  }
  $("qp-pager").hidden = !paged || pageCount(result) < 2;
  $("qp-page-range").textContent = paged ? pageRange(result, state.page, m) : "";
  $("qp-previous").disabled = state.page === 0;
  $("qp-next").disabled = state.page >= pageCount(result) - 1;
}

async function run(editor, terms) {
  if (state.running) return;
  const query = editor.prepared();
  state.running = true;
  state.form = queryForm(query);
  editor.clearError();
  $("qp-error").hidden = true;
  $("qp-run").textContent = m.running;
  $("qp-run").disabled = true;
  root.dataset.state = "running";
  updateUrl(query);
  try {
    const result = await runQuery(config.endpoint, query, state.form, state.graphs);
    state.result = result;
    state.page = 0;
    $("qp-results").hidden = false;
    const count = result.kind === "boolean" ? "" : format(result.kind === "graph" ? m.triples : m.rows, { n: result.rows.length });
    $("qp-count").textContent = count;
    $("qp-time").textContent = format(m.time, { ms: result.ms });
    $("qp-truncated").hidden = !result.truncated;
    $("qp-truncated").textContent = result.truncated ? format(m.truncated, { limit: result.rowLimit }) : "";
    renderDownloads(query);
    render(terms);
    root.dataset.state = "done";
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    $("qp-results").hidden = true;
    showError(error, editor);
    root.dataset.state = "error";
  } finally {
    state.running = false;
    $("qp-run").textContent = m.run;
    $("qp-run").disabled = false;
  }
}

async function copy(text, editor) {
  $("qp-snippet").hidden = false;
  $("qp-snippet").textContent = text;
  let copied = true;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    copied = false;
  }
  $("qp-copy-status").hidden = false;
  $("qp-copy-status").textContent = copied ? m.copied : m.copy_failed;
  editor.focus();
}

function renderExamples(examples, editor, terms) {
  const list = $("qp-example-list");
  if (!examples.length) {
    list.replaceChildren(el("li", { class: "qp-empty" }, m.examples_empty));
    return;
  }
  const other = config.lang === "zh" ? "en" : "zh";
  list.replaceChildren(...examples.map((example) => {
    const button = el("button", { type: "button", class: "qp-example", "data-example": example.name },
      example.title[config.lang] || example.title[other] || example.name);
    button.addEventListener("click", () => {
      editor.setText(example.query);
      state.view = VIEWS.includes(example.view) ? example.view : "table";
      state.chart = {};
      updateUrl(editor.text());
      render(terms);
      editor.focus();
    });
    const description = example.description[config.lang] || example.description[other] || "";
    return el("li", {}, button, description ? el("p", {}, description) : null);
  }));
}

async function start() {
  const [vocabulary, examples] = await Promise.all([
    getJson(root.dataset.vocabularyUrl), getJson(root.dataset.examplesUrl),
  ]);
  const terms = new TermView({ vocabulary, baseIri: config.baseIri, lang: config.lang });
  const shared = readState(location);
  state.view = shared.view || "table";
  state.graphs = shared.graphs;
  if (state.graphs.length) {
    $("qp-dataset").hidden = false;
    $("qp-dataset").textContent = format(m.dataset, {
      graphs: state.graphs.map(([name, iri]) => `${name}=${iri}`).join(", "),
    });
  }
  let editor = null;
  editor = createEditor($("qp-editor"), {
    doc: shared.query || STARTER[config.lang] || STARTER.en,
    vocabulary,
    lang: config.lang,
    messages: m,
    onRun: () => run(editor, terms),
  });
  renderExamples(examples, editor, terms);

  $("qp-run").addEventListener("click", () => run(editor, terms));
  for (const tab of document.querySelectorAll("[data-view]")) {
    tab.addEventListener("click", () => {
      state.view = tab.dataset.view;
      updateUrl(editor.text());
      render(terms);
    });
  }
  $("qp-previous").addEventListener("click", () => { state.page -= 1; render(terms); });
  $("qp-next").addEventListener("click", () => { state.page += 1; render(terms); });
  $("qp-copy-link").addEventListener("click", () => {
    updateUrl(editor.prepared());
    copy(location.href, editor);
  });
  $("qp-copy-curl").addEventListener("click", () => {
    const query = editor.prepared();
    copy(curlSnippet(endpointUrl(), query, queryForm(query), state.graphs), editor);
  });
  $("qp-copy-python").addEventListener("click", () => {
    const query = editor.prepared();
    copy(pythonSnippet(endpointUrl(), query, queryForm(query), state.graphs), editor);
  });
  root.dataset.ready = "true";
  if (shared.query) await run(editor, terms);
  else editor.prepared();
}

start().catch((error) => {
  $("qp-error").hidden = false;
  $("qp-error-message").textContent = String(error);
  root.dataset.state = "failed";
});
