// Sends a query to the SPARQL endpoint (SPARQL 1.1 Protocol, POST form) and reads the answer
// into one shape for every query form: variables and rows of RDF terms as in SPARQL JSON results.
import { isGraphForm } from "./util.js";

const ACCEPT_RESULTS = "application/sparql-results+json";
const ACCEPT_GRAPH = "application/n-triples";

export class QueryError extends Error {
  constructor(message, { status = 0, line = null, column = null } = {}) {
    super(message);
    this.status = status;
    this.line = line;
    this.column = column;
  }
}

// Where the endpoint says the error is: fields of a JSON error, or "error at 3:14" (Oxigraph),
// or "line 3, column 14" in the message text.
export function errorPosition(message, body = {}) {
  const fromFields = (line, column) => ({ line: Number(line), column: column == null ? null : Number(column) });
  if (body.line != null) return fromFields(body.line, body.column);
  let match = message.match(/\bat (\d+):(\d+)/);
  if (match) return fromFields(match[1], match[2]);
  match = message.match(/\bline\s*:?\s*(\d+)(?:\D{1,12}?col(?:umn)?\s*:?\s*(\d+))?/i);
  if (match) return fromFields(match[1], match[2]);
  return { line: null, column: null };
}

async function errorFrom(response) {
  const type = response.headers.get("Content-Type") || "";
  const text = await response.text();
  let body = {};
  let message = text.trim();
  if (type.includes("json")) {
    try {
      body = JSON.parse(text);
      message = [body.error || body.message || text, body.detail].filter(Boolean).join("\n");
    } catch {
      body = {};
    }
  }
  return new QueryError(message || `HTTP ${response.status}`, { status: response.status, ...errorPosition(message, body) });
}

const ESCAPES = { t: "\t", b: "\b", n: "\n", r: "\r", f: "\f", '"': '"', "'": "'", "\\": "\\" };
function unescape(text) {
  return text.replace(/\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))/g, (m, u4, u8, c) =>
    u4 || u8 ? String.fromCodePoint(parseInt(u4 || u8, 16)) : ESCAPES[c] ?? c);
}

const NT_TERM = /\s*(?:<([^>]*)>|_:(\S+)|"((?:[^"\\]|\\.)*)"(?:@([A-Za-z0-9-]+)|\^\^<([^>]*)>)?)/y;

function ntTerm(line, state) {
  NT_TERM.lastIndex = state.at;
  const m = NT_TERM.exec(line);
  if (!m) throw new QueryError(`unreadable N-Triples line: ${line}`);
  state.at = NT_TERM.lastIndex;
  if (m[1] !== undefined) return { type: "uri", value: unescape(m[1]) };
  if (m[2] !== undefined) return { type: "bnode", value: m[2] };
  const term = { type: "literal", value: unescape(m[3]) };
  if (m[4]) term["xml:lang"] = m[4];
  if (m[5]) term.datatype = m[5];
  return term;
}

// N-Triples is one triple a line; a CONSTRUCT or DESCRIBE result becomes rows of s, p, o.
export function parseNTriples(text) {
  const rows = [];
  for (const line of text.split("\n")) {
    if (!line.trim() || line.trim().startsWith("#")) continue;
    const state = { at: 0 };
    rows.push({ subject: ntTerm(line, state), predicate: ntTerm(line, state), object: ntTerm(line, state) });
  }
  return { kind: "graph", vars: ["subject", "predicate", "object"], rows };
}

export async function runQuery(endpoint, query, form, graphs = []) {
  const started = performance.now();
  let response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
        Accept: isGraphForm(form) ? ACCEPT_GRAPH : ACCEPT_RESULTS,
      },
      body: new URLSearchParams([["query", query], ...graphs]),
    });
  } catch (error) {
    throw new QueryError(error.message, { status: 0 });
  }
  if (!response.ok) throw await errorFrom(response);
  const type = response.headers.get("Content-Type") || "";
  const text = await response.text();
  let result;
  if (type.includes("json")) {
    const body = JSON.parse(text);
    result = "boolean" in body
      ? { kind: "boolean", vars: [], rows: [], boolean: body.boolean }
      : { kind: "bindings", vars: body.head.vars, rows: body.results.bindings };
  } else {
    result = parseNTriples(text);
  }
  const limit = response.headers.get("X-QDKG-Row-Limit");
  result.truncated = /^(true|1|yes)$/i.test(response.headers.get("X-QDKG-Truncated") || "");
  result.rowLimit = limit ? Number(limit) : result.rows.length;
  result.ms = Math.round(performance.now() - started);
  return result;
}
