// How an RDF term is shown: IRIs as links to our own linked-data pages with their label,
// numbers formatted for the page language, language-tagged text with its tag.
import { el } from "./util.js";

const XSD = "http://www.w3.org/2001/XMLSchema#";
const NUMERIC = new Set([
  "integer", "decimal", "double", "float", "long", "int", "short", "byte", "nonNegativeInteger",
  "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedLong", "unsignedInt",
  "unsignedShort", "unsignedByte",
].map((name) => XSD + name));

export function isNumeric(term) {
  return !!term && term.type !== "uri" && term.type !== "bnode" && NUMERIC.has(term.datatype)
    && Number.isFinite(Number(term.value));
}

export class TermView {
  constructor({ vocabulary, baseIri, lang }) {
    this.lang = lang;
    this.baseIri = baseIri;
    this.prefixes = Object.entries(vocabulary.prefixes).sort((a, b) => b[1].length - a[1].length);
    this.labels = new Map();
    for (const item of [...vocabulary.terms, ...vocabulary.entities]) this.labels.set(item.iri, item.label);
    this.number = new Intl.NumberFormat(lang === "zh" ? "zh-CN" : "en", { maximumFractionDigits: 10 });
  }

  curie(iri) {
    for (const [prefix, namespace] of this.prefixes) {
      if (iri.startsWith(namespace)) return `${prefix}:${iri.slice(namespace.length)}`;
    }
    return iri;
  }

  label(iri) {
    const label = this.labels.get(iri);
    if (!label) return null;
    return label[this.lang] || label[this.lang === "zh" ? "en" : "zh"] || null;
  }

  // The service serves https://w3id.org/qdkg/id/x at /id/x: link there, not to the canonical host.
  href(iri) {
    if (iri.startsWith(this.baseIri)) return "/" + iri.slice(this.baseIri.length);
    return /^https?:\/\//i.test(iri) ? iri : null;
  }

  // The text a chart axis or a plain-text rendering uses for a term.
  text(term) {
    if (!term) return "";
    if (term.type === "uri") return this.label(term.value) || this.curie(term.value);
    if (term.type === "bnode") return `_:${term.value}`;
    return isNumeric(term) ? this.number.format(Number(term.value)) : term.value;
  }

  cell(term) {
    if (!term) return el("td", { class: "qp-unbound", "data-unbound": "" });
    const attributes = { "data-value": term.value, "data-type": term.type };
    if (term.type === "uri") {
      const label = this.label(term.value);
      const curie = this.curie(term.value);
      const href = this.href(term.value);
      const name = label ? [label, el("span", { class: "qp-curie" }, curie)] : [curie];
      const content = href ? el("a", { href, title: term.value }, ...name) : el("span", { title: term.value }, ...name);
      return el("td", attributes, content);
    }
    if (term.type === "bnode") return el("td", attributes, `_:${term.value}`);
    if (isNumeric(term)) {
      return el("td", { ...attributes, class: "qp-number", title: `${term.value} (${this.curie(term.datatype)})` },
        this.number.format(Number(term.value)));
    }
    const tag = term["xml:lang"];
    const datatype = term.datatype && term.datatype !== XSD + "string" ? this.curie(term.datatype) : null;
    return el("td", attributes, term.value,
      tag ? el("span", { class: "qp-tag" }, `@${tag}`) : null,
      datatype ? el("span", { class: "qp-tag" }, `^^${datatype}`) : null);
  }
}
