// The run's equity curve: the portfolio's value at each close, its drawdown shaded, its trades, splits and
// dividends marked, and its baselines (what the market did over the same closes) dashed beside it. SERIES
// lists where the chart's lines come from: an entry gives one series, several, or none.

import { api } from "../lib/api.js";
import { lineChart } from "../lib/chart.js";
import { h, section } from "../lib/dom.js";
import { money, percent } from "../lib/format.js";
import { CORPORATE_ACTIONS, describePosition, TRADE_ACTIONS } from "./run_data.js";

const TRADES = `query($id: ID!, $after: String) { run(id: $id) { positions(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { id date timestamp action symbol amount price fee } } } } }`;
const MAX_TRADE_PAGES = 20; // markers for the first 2,000 actions; the positions table has them all
const marked = (position) => TRADE_ACTIONS.has(position.action) || CORPORATE_ACTIONS.has(position.action);
const axisMoney = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export const SERIES = [
  (run) => ({
    id: "equity",
    name: "Portfolio value",
    className: "equity",
    points: run.equityCurve.map((p) => ({ t: Date.parse(p.timestamp), v: p.value, label: p.date })),
  }),
  (run) => (run.benchmarks || []).map((benchmark) => ({
    id: `benchmark-${benchmark.kind.toLowerCase()}`,
    name: benchmark.label,
    className: benchmark.kind === "INDEX" ? "baseline index" : "baseline",
    points: benchmark.equityCurve.map((p) => ({ t: Date.parse(p.timestamp), v: p.value, label: p.date })),
  })),
];

async function loadTrades(runId, into) {
  let after = null;
  for (let page = 0; page < MAX_TRADE_PAGES; page += 1) {
    const { positions } = (await api(TRADES, { id: runId, after })).run;
    positions.edges.forEach(({ node }) => marked(node) && into.set(node.id, node));
    if (!positions.pageInfo.hasNextPage) return;
    after = positions.pageInfo.endCursor;
  }
}

/** A marker sits on the curve at the first value recorded at or after the trade (its day's close). */
function markersOf(trades, points) {
  const markers = [];
  for (const trade of trades.values()) {
    const t = Date.parse(trade.timestamp);
    const point = points.find((p) => p.t >= t) || points.find((p) => p.label === trade.date);
    if (!point) continue;
    markers.push({ t: point.t, v: point.v, kind: trade.action.toLowerCase(), text: describePosition(trade) });
  }
  return markers;
}

/** The readout of a close: its value, how far below the peak, and what was marked there (read by keyboard too). */
function describer(points, markers) {
  let peak = -Infinity;
  const drawdowns = points.map((p) => {
    peak = Math.max(peak, p.v);
    return peak > 0 ? (peak - p.v) / peak : 0;
  });
  return (point, index) => {
    const below = drawdowns[index] ? ` · ${percent(drawdowns[index])} below its peak` : "";
    const marked = markers.filter((m) => m.t === point.t).map((m) => ` · ${m.text}`).join("");
    return `${point.label}: ${money(point.v)}${below}${marked}`;
  };
}

export function chartSection(run) {
  const trades = new Map();
  let latest = run;
  const chart = lineChart({ title: `Equity curve of run ${run.runNumber}`, series: [], formatY: (v) => axisMoney.format(v) });
  const note = h("p", { class: "muted" }, "Shaded: drawdown below the running peak. Triangles: buys (▲) and sells (▼). ",
    "Dots: splits and dividends. Dashed: the baselines, the same cash held without costs.");

  function draw() {
    const series = SERIES.flatMap((make) => make(latest)).filter(Boolean);
    const main = series[0].points;
    const markers = markersOf(trades, main);
    chart.update({ series, markers, describe: describer(main, markers) });
  }
  loadTrades(run.id, trades).then(draw).catch(() => {}); // the curve shows without markers if this fails

  return {
    element: section("Equity curve", chart.element, note),
    update(fresh) {
      latest = fresh;
      draw();
    },
    onEvent(event) {
      if (event.position && marked(event.position)) trades.set(event.position.id, event.position);
    },
  };
}
