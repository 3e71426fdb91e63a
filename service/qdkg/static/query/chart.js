// Bar and line charts of a numeric result column, drawn as plain SVG (no charting library).
import { isNumeric } from "./terms.js";
import { el, format, svg } from "./util.js";

const WIDTH = 900;
const HEIGHT = 420;
const MARGIN = { top: 20, right: 20, bottom: 130, left: 90 };
const MAX_POINTS = 200;
const MAX_LABEL = 22;

// Numeric columns (every bound value a number) can be charted against any other column.
export function chartColumns(result) {
  if (result.kind === "boolean") return { labels: [], values: [] };
  const values = result.vars.filter((v) => {
    const bound = result.rows.map((row) => row[v]).filter(Boolean);
    return bound.length > 0 && bound.every(isNumeric);
  });
  return { labels: result.vars.filter((v) => !values.includes(v)), values };
}

function niceStep(span) {
  const raw = span / 5 || 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const factor = [1, 2, 2.5, 5, 10].find((f) => f * power >= raw);
  return factor * power;
}

function shorten(text) {
  return text.length > MAX_LABEL ? text.slice(0, MAX_LABEL - 1) + "…" : text;
}

function columnPicker(name, columns, chosen, onChange) {
  const select = el("select", { "data-column": name },
    ...columns.map((c) => el("option", { value: c, selected: c === chosen ? "" : null }, `?${c}`)));
  select.addEventListener("change", () => onChange(select.value));
  return select;
}

export function renderChart(container, result, kind, terms, messages, choice, onChoice) {
  container.replaceChildren();
  const columns = chartColumns(result);
  if (!columns.values.length) {
    container.append(el("p", { class: "qp-chart-empty" }, messages.chart_needs_numbers));
    return;
  }
  const valueVar = columns.values.includes(choice.value) ? choice.value : columns.values[0];
  const labelVar = columns.labels.includes(choice.label) ? choice.label : columns.labels[0];
  const rows = result.rows.filter((row) => row[valueVar]).slice(0, MAX_POINTS);
  const points = rows.map((row, i) => ({
    label: labelVar ? terms.text(row[labelVar]) : String(i + 1),
    value: Number(row[valueVar].value),
  }));

  const low = Math.min(0, ...points.map((p) => p.value));
  const high = Math.max(0, ...points.map((p) => p.value));
  const step = niceStep(high - low);
  const bottom = Math.floor(low / step) * step;
  const top = Math.max(Math.ceil(high / step) * step, bottom + step);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (v) => MARGIN.top + plotHeight * (1 - (v - bottom) / (top - bottom));
  const band = plotWidth / points.length;
  const x = (i) => MARGIN.left + band * (i + 0.5);
  const compact = new Intl.NumberFormat(terms.lang === "zh" ? "zh-CN" : "en", { notation: "compact", maximumFractionDigits: 2 });

  const chart = svg("svg", {
    class: `qp-chart qp-chart-${kind}`, viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img",
    "aria-label": format(messages.chart_caption, { values: `?${valueVar}`, labels: labelVar ? `?${labelVar}` : "#" }),
  });
  for (let tick = bottom; tick <= top + step / 2; tick += step) {
    chart.append(
      svg("line", { class: "qp-grid", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(tick), y2: y(tick) }),
      svg("text", { class: "qp-axis-label", x: MARGIN.left - 8, y: y(tick) + 4, "text-anchor": "end" }, compact.format(tick)),
    );
  }
  const every = Math.ceil(points.length / 40);
  points.forEach((p, i) => {
    if (i % every) return;
    const lx = x(i);
    const ly = HEIGHT - MARGIN.bottom + 14;
    chart.append(svg("text", {
      class: "qp-axis-label", x: lx, y: ly, "text-anchor": "end", transform: `rotate(-40 ${lx} ${ly})`,
    }, shorten(p.label)));
  });
  const tooltip = (p) => svg("title", {}, `${p.label}: ${terms.number.format(p.value)}`);
  if (kind === "bar") {
    points.forEach((p, i) => {
      const y0 = y(Math.max(0, p.value));
      chart.append(svg("rect", {
        class: "qp-bar", x: x(i) - band * 0.35, width: band * 0.7, y: y0,
        height: Math.max(1, Math.abs(y(p.value) - y(0))), "data-label": p.label, "data-value": p.value,
      }, tooltip(p)));
    });
  } else {
    chart.append(svg("polyline", { class: "qp-line", points: points.map((p, i) => `${x(i)},${y(p.value)}`).join(" ") }));
    points.forEach((p, i) => chart.append(svg("circle", {
      class: "qp-point", cx: x(i), cy: y(p.value), r: 4, "data-label": p.label, "data-value": p.value,
    }, tooltip(p))));
  }
  chart.append(svg("line", { class: "qp-axis", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(0), y2: y(0) }));

  const controls = el("div", { class: "qp-chart-controls" },
    labelVar ? el("label", {}, `${messages.chart_labels} `,
      columnPicker("label", columns.labels, labelVar, (v) => onChoice({ ...choice, label: v }))) : null,
    el("label", {}, `${messages.chart_values} `,
      columnPicker("value", columns.values, valueVar, (v) => onChoice({ ...choice, value: v }))),
  );
  container.append(controls, el("figure", { class: "qp-figure" }, chart));
}
