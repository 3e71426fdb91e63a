// Completion from the served graph: prefixed names of our classes, properties and entities
// (after "qdkg:", "qid:" ...), entities and terms by a fragment of their zh or en label
// (城阳, Chengyang), and SPARQL keywords.
import { syntaxTree } from "./vendor/codemirror.js";

const KEYWORDS = [
  "SELECT", "DISTINCT", "WHERE", "FILTER", "OPTIONAL", "UNION", "MINUS", "GRAPH", "BIND", "VALUES",
  "ORDER BY", "GROUP BY", "HAVING", "LIMIT", "OFFSET", "ASK", "CONSTRUCT", "DESCRIBE", "PREFIX",
  "SERVICE", "EXISTS", "NOT EXISTS", "COUNT", "SUM", "AVG", "MIN", "MAX", "SAMPLE",
  "GROUP_CONCAT", "LANG", "LANGMATCHES", "STR", "CONTAINS", "STRSTARTS", "REGEX", "COALESCE",
  "DESC", "ASC", "AS",
];
const MAX_OPTIONS = 60;
const PN_LOCAL_ESCAPE = /[~.\-!$&'()*+,;=/?#@%_]/g;

function labelText(label, lang) {
  const other = lang === "zh" ? "en" : "zh";
  return [label[lang], label[other]].filter(Boolean).join(" · ");
}

// A local name with its reserved characters escaped, so the inserted name parses as SPARQL:
// qid:district/chengyang is written qid:district\/chengyang.
function escapedCurie(curie) {
  const colon = curie.indexOf(":");
  const local = curie.slice(colon + 1).replace(PN_LOCAL_ESCAPE, (c) => (c === "_" || c === "-" ? c : "\\" + c));
  return curie.slice(0, colon + 1) + local;
}

function insideStringOrComment(state, pos) {
  const node = syntaxTree(state).resolveInner(pos, -1);
  return /string|comment/.test(node.name);
}

export function completionSources(vocabulary, lang, messages) {
  const kindName = { class: messages.kind_class, property: messages.kind_property };
  const byPrefix = new Map();
  const searchable = [];
  const add = (prefix, option) => {
    if (!byPrefix.has(prefix)) byPrefix.set(prefix, []);
    byPrefix.get(prefix).push(option);
  };
  for (const term of vocabulary.terms) {
    const option = {
      label: term.curie,
      detail: labelText(term.label, lang),
      info: term.definition[lang] || term.definition.en || undefined,
      type: term.kind,
      apply: escapedCurie(term.curie),
      boost: term.kind === "property" ? 1 : 0,
    };
    if (term.curie !== term.iri) add(term.curie.split(":")[0], option);
    searchable.push({ option: { ...option, detail: `${option.detail} (${kindName[term.kind]})` }, label: term.label });
  }
  for (const entity of vocabulary.entities) {
    const types = entity.types.length ? ` (${entity.types.join(", ")})` : "";
    const detail = labelText(entity.label, lang);
    add(entity.curie.split(":")[0], {
      label: entity.curie, detail, type: "entity", apply: escapedCurie(entity.curie),
      info: `${entity.iri}${types}`,
    });
    searchable.push({
      option: { label: entity.curie, detail, type: "entity", apply: `<${entity.iri}>`, info: `${entity.iri}${types}` },
      label: entity.label,
    });
  }

  function prefixedNames(context) {
    const match = context.matchBefore(/(?<![\w?$\\])[A-Za-z][\w-]*:[\w\-./\\%]*/);
    if (!match || insideStringOrComment(context.state, context.pos)) return null;
    const options = byPrefix.get(match.text.slice(0, match.text.indexOf(":")));
    if (!options) return null;
    return { from: match.from, options, validFor: /^[A-Za-z][\w-]*:[\w\-./%]*$/ };
  }

  function labels(context) {
    const match = context.matchBefore(/(?<![\w?$\\:<@"'\p{L}])[\p{L}][\p{L}\p{N}_-]*/u);
    if (!match || insideStringOrComment(context.state, context.pos)) return null;
    const fragment = match.text.toLowerCase();
    const chinese = /\p{Script=Han}/u.test(fragment);
    if (fragment.length < (chinese ? 1 : 3)) return null;
    const scored = [];
    for (const { option, label } of searchable) {
      let score = 0;
      let length = Infinity;
      for (const text of Object.values(label)) {
        const lower = text.toLowerCase();
        let found = 0;
        if (lower === fragment) found = 3;
        else if (lower.startsWith(fragment)) found = 2;
        else if (chinese ? lower.includes(fragment) : lower.split(/[\s“”"'(),·:-]+/).some((w) => w.startsWith(fragment))) {
          found = 1;
        }
        if (found > score || (found && found === score && text.length < length)) {
          score = found;
          length = text.length;
        }
      }
      if (score) scored.push({ option, score, length });
    }
    if (!scored.length) return null;
    // Best match first; among equals the shortest label, i.e. the thing itself ("Chengyang
    // District") before statements and sections that merely mention it.
    scored.sort((a, b) => b.score - a.score || a.length - b.length);
    const options = scored.slice(0, MAX_OPTIONS).map(({ option }, i) => ({ ...option, boost: 99 - i }));
    return { from: match.from, options, filter: false };
  }

  const keywordOptions = KEYWORDS.map((k) => ({ label: k, type: "keyword" }));
  function keywords(context) {
    const match = context.matchBefore(/(?<![\w?$\\:<@])[A-Za-z]+/);
    if (!match || (match.from === match.to && !context.explicit)) return null;
    if (insideStringOrComment(context.state, context.pos)) return null;
    return { from: match.from, options: keywordOptions, validFor: /^[A-Za-z]*$/ };
  }

  return [prefixedNames, labels, keywords];
}
