// Small helpers shared by the query page's modules: message formatting and DOM building.

export function format(template, values = {}) {
  return template.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
}

// el("a", {href: "/x", class: "y"}, "text", child): attributes are set as attributes, never as
// inline style or event handler strings, so the page stays within its Content-Security-Policy.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

// Blank out comments, strings and IRIs so that scans for keywords and prefixed names only see
// the query's own tokens; lengths are kept, so offsets still point into the original text.
export function codeOnly(query) {
  const blank = (match) => match.replace(/[^\n]/g, " ");
  return query.replace(
    /"""[\s\S]*?"""|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|<[^<>"{}|^`\\\x00-\x20]*>|#[^\n]*/g,
    blank,
  );
}

// SELECT and ASK answer with result sets; CONSTRUCT and DESCRIBE with a graph.
export function queryForm(query) {
  const match = codeOnly(query).match(/\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b/i);
  return match ? match[1].toUpperCase() : "SELECT";
}

export function isGraphForm(form) {
  return form === "CONSTRUCT" || form === "DESCRIBE";
}
