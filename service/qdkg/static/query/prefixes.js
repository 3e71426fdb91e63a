// Adds the PREFIX declaration for each of the dataset's prefixes that a query uses but does not
// declare, so that a query written with qdkg:, qid:, skos: ... runs as typed.
import { codeOnly } from "./util.js";

const DECLARATION = /^\s*PREFIX\s+([A-Za-z][\w.-]*)?\s*:/gim;
const PREFIXED_NAME = /(?<![\w?$\\:.-])([A-Za-z][\w-]*(?:\.[\w-]+)*):/g;

export function missingPrefixes(query, known) {
  const code = codeOnly(query);
  const declared = new Set([...code.matchAll(DECLARATION)].map((m) => m[1] || ""));
  const missing = [];
  for (const match of code.matchAll(PREFIXED_NAME)) {
    const prefix = match[1];
    if (prefix in known && !declared.has(prefix) && !missing.includes(prefix)) missing.push(prefix);
  }
  return missing;
}

// Where the new declarations go: right after the last PREFIX/BASE of the prologue, else at the
// start of the query proper (after any leading comments, which stay on top).
const SKIP = /(?:\s+|#[^\n]*)*/y;
const DECLARATION_TOKEN = /PREFIX\s+(?:[A-Za-z][\w.-]*)?:\s*<[^<>\s]*>|BASE\s*<[^<>\s]*>/iy;

function insertionPoint(query) {
  let pos = 0;
  let lastDeclarationEnd = -1;
  for (;;) {
    SKIP.lastIndex = pos;
    SKIP.exec(query);
    DECLARATION_TOKEN.lastIndex = pos = SKIP.lastIndex;
    if (!DECLARATION_TOKEN.exec(query)) break;
    pos = lastDeclarationEnd = DECLARATION_TOKEN.lastIndex;
  }
  if (lastDeclarationEnd >= 0) return { at: lastDeclarationEnd, afterPrologue: true };
  const lineStart = query.lastIndexOf("\n", pos - 1) + 1;
  return { at: /^\s*$/.test(query.slice(lineStart, pos)) ? lineStart : pos, afterPrologue: false };
}

// The change (in CodeMirror's {from, insert} form) that declares the missing prefixes, or null.
export function prefixChange(query, known) {
  const missing = missingPrefixes(query, known);
  if (!missing.length) return null;
  const { at, afterPrologue } = insertionPoint(query);
  const lines = missing.map((p) => `PREFIX ${p}: <${known[p]}>`);
  // A new prologue is set off from the query by a blank line; an existing one just grows.
  const insert = afterPrologue ? lines.map((l) => "\n" + l).join("") : lines.join("\n") + "\n\n";
  return { from: at, insert };
}
