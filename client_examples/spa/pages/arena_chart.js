// An arena's chart: every run's return since the start beside the baselines (dashed), on one time axis. The
// readout (pointer or arrow keys) reads every line at the chosen close, highest first.

import { lineChart } from "../lib/chart.js";
import { signedPercent, percent } from "../lib/format.js";

const LINE_COLOURS = 6; // styles.css: .line-1 .. .line-6

/** A curve as returns since its start (initial value `v0`), the start itself at 0. */
function returnsOf(points, v0, startDate) {
  const start = { t: Date.parse(`${startDate}T00:00:00Z`), v: 0, label: startDate };
  return [start, ...points.map((p) => ({ t: Date.parse(p.timestamp), v: p.value / v0 - 1, label: p.date }))];
}

/** The baselines first: the first series is the chart's main one, the baseline every run is ranked against. */
export function seriesOf(arena) {
  const baselines = arena.benchmarks.map((b) => ({
    id: `benchmark-${b.kind.toLowerCase()}`,
    name: b.label,
    className: b.kind === "INDEX" ? "baseline index" : "baseline",
    points: b.equityCurve.length ? returnsOf(b.equityCurve, b.performance.initialValue, arena.startDate) : [],
  }));
  const runs = arena.runs.map((run, i) => ({
    id: `run-${run.id}`,
    name: run.strategySnapshot.name,
    className: `line-${(i % LINE_COLOURS) + 1}`,
    points: run.equityCurve.length ? returnsOf(run.equityCurve, Number(run.strategySnapshot.initial_cash), arena.startDate) : [],
  }));
  return [...baselines, ...runs];
}

/** Each line's value at time t: its last close at or before t (a run that has not reached t yet shows its latest). */
function valuesAt(series, t) {
  return series
    .map((s) => ({ name: s.name, point: s.points.filter((p) => p.t <= t).at(-1) }))
    .filter((entry) => entry.point)
    .sort((a, b) => b.point.v - a.point.v);
}

export function arenaChart(arena) {
  let series = [];
  const chart = lineChart({
    title: `Returns in the arena ${arena.name}`, series, shadeDrawdown: false,
    formatY: (v) => percent(Math.abs(v) < 1e-12 ? 0 : v), // an axis tick at -0 reads 0
    describe: (point) => `${point.label}: ${valuesAt(series, point.t).map(({ name, point: p }) => `${name} ${signedPercent(p.v)}`).join(" · ")}`,
  });
  return {
    element: chart.element,
    update(fresh) {
      series = seriesOf(fresh);
      chart.update({ series });
    },
  };
}
