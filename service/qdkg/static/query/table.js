// The result table, one page at a time.
import { el, format } from "./util.js";

export const PAGE_SIZE = 50;

export function pageCount(result) {
  return Math.max(1, Math.ceil(result.rows.length / PAGE_SIZE));
}

export function renderTable(container, result, page, terms, messages) {
  container.replaceChildren();
  if (result.kind === "boolean") {
    container.append(el("p", { class: "qp-boolean", "data-boolean": String(result.boolean) },
      result.boolean ? messages.ask_true : messages.ask_false));
    return;
  }
  if (!result.rows.length) {
    container.append(el("p", { class: "qp-empty" }, messages.no_results));
    return;
  }
  const first = page * PAGE_SIZE;
  const rows = result.rows.slice(first, first + PAGE_SIZE);
  const head = el("tr", {}, ...result.vars.map((v) => el("th", { scope: "col" }, `?${v}`)));
  const body = rows.map((row) => el("tr", {}, ...result.vars.map((v) => terms.cell(row[v]))));
  container.append(el("table", { class: "qp-table" }, el("thead", {}, head), el("tbody", {}, ...body)));
}

export function pageRange(result, page, messages) {
  const from = page * PAGE_SIZE + 1;
  const to = Math.min(result.rows.length, from + PAGE_SIZE - 1);
  return format(messages.page_range, { from, to, n: result.rows.length });
}
