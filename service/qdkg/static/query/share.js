// Sharing: the page state in its URL, download links in every result format, and the same query
// as a curl command and as a Python (SPARQLWrapper) program against the absolute endpoint URL.
import { isGraphForm } from "./util.js";

export const VIEWS = ["table", "bar", "line"];
const RESULT_FORMATS = ["json", "xml", "csv", "tsv"];
const BOOLEAN_FORMATS = ["json", "xml"];
const GRAPH_FORMATS = ["turtle", "ntriples", "jsonld", "rdfxml"];
const ACCEPT = { SELECT: "application/sparql-results+json", ASK: "application/sparql-results+json", CONSTRUCT: "text/turtle", DESCRIBE: "text/turtle" };

// The SPARQL protocol's own dataset parameters: a link to /sparql?query=...&default-graph-uri=...
// opened in a browser arrives here with them, and they stay with the query wherever it goes.
const GRAPH_PARAMETERS = ["default-graph-uri", "named-graph-uri"];

export function readState(location) {
  const params = new URLSearchParams(location.search);
  const view = params.get("view");
  const graphs = GRAPH_PARAMETERS.flatMap((name) => params.getAll(name).map((iri) => [name, iri]));
  return { query: params.get("query") || "", view: VIEWS.includes(view) ? view : null, graphs };
}

export function pageUrl(location, { query, view, lang, graphs = [] }) {
  const params = new URLSearchParams();
  params.set("lang", lang);
  if (view && view !== "table") params.set("view", view);
  if (query) params.set("query", query);
  for (const [name, iri] of graphs) params.append(name, iri);
  return `${location.pathname}?${params}`;
}

export function downloadFormats(form) {
  if (isGraphForm(form)) return GRAPH_FORMATS;
  return form === "ASK" ? BOOLEAN_FORMATS : RESULT_FORMATS;
}

export function downloadUrl(endpoint, query, format, graphs = []) {
  return `${endpoint}?${new URLSearchParams([["query", query], ...graphs, ["format", format]])}`;
}

function shellQuote(text) {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function curlSnippet(endpointUrl, query, form, graphs = []) {
  return [
    `curl ${shellQuote(endpointUrl)} \\`,
    `  -H ${shellQuote(`Accept: ${ACCEPT[form]}`)} \\`,
    ...graphs.map(([name, iri]) => `  --data-urlencode ${shellQuote(`${name}=${iri}`)} \\`),
    `  --data-urlencode ${shellQuote(`query=${query}`)}`,
  ].join("\n");
}

function pythonString(text) {
  // A quote that another quote (or the closing delimiter) follows is escaped, so no run of three
  // unescaped quotes can end the string early.
  return `"""${text.replace(/\\/g, "\\\\").replace(/"(?="|$)/g, '\\"')}"""`;
}

export function pythonSnippet(endpointUrl, query, form, graphs = []) {
  const adders = { "default-graph-uri": "addDefaultGraph", "named-graph-uri": "addNamedGraph" };
  const head = [
    `from SPARQLWrapper import ${isGraphForm(form) ? "TURTLE" : "JSON"}, POST, SPARQLWrapper`,
    "",
    `sparql = SPARQLWrapper(${JSON.stringify(endpointUrl)})`,
    "sparql.setMethod(POST)",
    ...graphs.map(([name, iri]) => `sparql.${adders[name]}(${JSON.stringify(iri)})`),
    `sparql.setQuery(${pythonString(query)})`,
  ];
  if (isGraphForm(form)) {
    return [...head, "sparql.setReturnFormat(TURTLE)", "print(sparql.query().convert().decode(\"utf-8\"))"].join("\n") + "\n";
  }
  if (form === "ASK") {
    return [...head, "sparql.setReturnFormat(JSON)", "print(sparql.query().convert()[\"boolean\"])"].join("\n") + "\n";
  }
  return [
    ...head,
    "sparql.setReturnFormat(JSON)",
    "results = sparql.query().convert()",
    "for row in results[\"results\"][\"bindings\"]:",
    "    print({name: term[\"value\"] for name, term in row.items()})",
  ].join("\n") + "\n";
}
