// An arena's standings: its runs ranked by total return, with their excess over the baselines, risk,
// activity, fees and LLM use; live progress of each run between reloads.

import { h, link, table } from "../lib/dom.js";
import { decimal, integer, money, percent, signedPercent, tone } from "../lib/format.js";
import { statusBadge } from "../lib/ui.js";
import { externalToolsBadge } from "./model_runs.js";

export const STANDING_FIELDS = `rank modelName aiModel status totalReturn excessReturn excessReturnOverIndex sharpeRatio maxDrawdown
  totalTrades totalFees llmCalls inputTokens outputTokens run { id runNumber usedExternalTools progress { current total } }`;
const ACTIVE = new Set(["QUEUED", "RUNNING"]);

const progressText = (progress) => `${progress.current}/${progress.total}`;

function signedCell(value) {
  return h("td", { class: `num ${tone(value)}` }, signedPercent(value));
}

function standingRow(standing, withIndex) {
  const { run } = standing;
  return h("tr", { dataset: { runId: run.id } },
    h("td", { class: "num" }, String(standing.rank)),
    h("th", { scope: "row" },
      link(`/runs/${run.id}`, standing.modelName, { "aria-label": `Open the run of ${standing.modelName}` }),
      run.usedExternalTools ? externalToolsBadge() : null),
    h("td", {}, standing.aiModel),
    h("td", { class: "nowrap" }, statusBadge(standing.status), " ",
      h("span", { class: "muted run-progress" }, ACTIVE.has(standing.status) ? progressText(run.progress) : "")),
    signedCell(standing.totalReturn),
    signedCell(standing.excessReturn),
    withIndex ? signedCell(standing.excessReturnOverIndex) : null,
    h("td", { class: "num" }, decimal(standing.sharpeRatio)),
    h("td", { class: "num" }, percent(standing.maxDrawdown)),
    h("td", { class: "num" }, integer(standing.totalTrades)),
    h("td", { class: "num" }, money(standing.totalFees)),
    h("td", { class: "num" }, integer(standing.llmCalls)),
    h("td", { class: "num nowrap" }, `${integer(standing.inputTokens)} / ${integer(standing.outputTokens)}`));
}

export function standingsTable(arena) {
  const index = arena.benchmarks.find((b) => b.kind === "INDEX");
  const withIndex = Boolean(index);
  const columns = [["Rank", "num"], ["Model"], ["AI model"], ["Status"], ["Return", "num"], ["Excess over buy and hold", "num"],
    withIndex ? [`Excess over ${index.symbols.join(", ")}`, "num"] : null, ["Sharpe", "num"], ["Max drawdown", "num"],
    ["Trades", "num"], ["Fees", "num"], ["LLM calls", "num"], ["Tokens in / out", "num"]].filter(Boolean);
  return table(`Standings of ${arena.name}`, columns, arena.standings.map((standing) => standingRow(standing, withIndex)));
}

/** A run's progress from its live event, before the next reload brings its figures. */
export function showRunProgress(container, runId, progress) {
  const row = container.querySelector(`tr[data-run-id="${CSS.escape(runId)}"]`);
  const cell = row && row.querySelector(".run-progress");
  if (cell) cell.textContent = progressText(progress);
}
