// The run against the market: each baseline's return and the run's figures relative to it.

import { h, section, table } from "../lib/dom.js";
import { decimal, percent, signedPercent, tone } from "../lib/format.js";

function benchmarkRow(benchmark, relative) {
  return h("tr", {},
    h("th", { scope: "row" }, benchmark.label),
    h("td", { class: `num ${tone(benchmark.performance.totalReturn)}` }, signedPercent(benchmark.performance.totalReturn)),
    h("td", { class: `num ${tone(relative.excessReturn)}` }, signedPercent(relative.excessReturn)),
    h("td", { class: "num" }, decimal(relative.beta)),
    h("td", { class: `num ${tone(relative.alpha)}` }, signedPercent(relative.alpha)),
    h("td", { class: "num" }, percent(relative.trackingError)),
    h("td", { class: "num" }, decimal(relative.informationRatio)),
    h("td", { class: "num" }, decimal(relative.correlation)));
}

export function relativeSection() {
  const body = h("div", { id: "run-relative" });
  const note = h("p", { class: "muted" },
    "Each baseline holds the run's initial cash without costs over the same closes. Alpha (Jensen's) and tracking ",
    "error are annualised; a dash is a figure that needs two or more closes, or a baseline that moved.");
  return {
    element: section("Against the market", body, note),
    update(run) {
      const benchmarks = run.benchmarks || [];
      if (!run.equityCurve.length || !benchmarks.length) {
        body.replaceChildren(h("p", { class: "muted" }, "The comparison appears once the run has traded through its first day."));
        return;
      }
      body.replaceChildren(table("The run against each baseline",
        [["Baseline"], ["Its return", "num"], ["Excess return", "num"], ["Beta", "num"], ["Alpha", "num"],
          ["Tracking error", "num"], ["Information ratio", "num"], ["Correlation", "num"]],
        benchmarks.map((benchmark, i) => benchmarkRow(benchmark, run.relative[i]))));
    },
  };
}
