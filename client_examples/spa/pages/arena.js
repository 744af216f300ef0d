// /arenas/:id: one arena, followed live over arenaEvents while its runs trade: the standings, every run's
// return since the start beside the baselines (dashed), and cancelling or deleting it.

import { api, follow } from "../lib/api.js";
import { lineChart } from "../lib/chart.js";
import { h, link, section, table } from "../lib/dom.js";
import { decimal, integer, label, money, percent, signedPercent, tone } from "../lib/format.js";
import { navigate } from "../lib/navigation.js";
import { confirmAction, errorBox, notFoundPage, showError, statusBadge } from "../lib/ui.js";

const ARENA = `query($id: ID!) { arena(id: $id) {
  id name status startDate endDate maxSteps benchmarkSymbol endedAt
  runs { id strategySnapshot }
  benchmarks { kind label equityCurve { date timestamp value } performance { initialValue totalReturn } }
  standings { rank modelName aiModel status totalReturn excessReturn sharpeRatio maxDrawdown totalTrades totalFees llmCalls
    run { id runNumber progress { current total } } } } }`;
const ARENA_EVENTS = `subscription($arenaId: ID!, $afterSeq: Int) { arenaEvents(arenaId: $arenaId, afterSeq: $afterSeq) {
  seq kind status runId runEvent { kind } } }`;
// Each run's curve in a query of its own: the arena's runs and their curves together would be a response the
// API refuses as too large (its cost estimate counts up to 20 runs of long curves).
const CURVE = `query($id: ID!) { run(id: $id) { equityCurve { date timestamp value } } }`;
const CANCEL = "mutation($id: ID!) { cancelArena(id: $id) { id } }";
const DELETE = "mutation($id: ID!) { deleteArena(id: $id) }";
const ACTIVE = new Set(["QUEUED", "RUNNING"]);
const RELOAD_ON = new Set(["LOG", "COMPLETED", "FAILED", "CANCELLED"]); // a step's close, or a run's end
const RELOAD_DELAY_MS = 400;
const LINE_COLOURS = 6; // styles.css: .line-1 .. .line-6

/** A curve as returns since its start (initial value `v0`), the start itself at 0. */
function returnsOf(points, v0, startDate) {
  const start = { t: Date.parse(`${startDate}T00:00:00Z`), v: 0, label: startDate };
  return [start, ...points.map((p) => ({ t: Date.parse(p.timestamp), v: p.value / v0 - 1, label: p.date }))];
}

/** The arena with each run's curve beside it. */
async function loadArena(id) {
  const { arena } = await api(ARENA, { id });
  const curves = await Promise.all(arena.runs.map((run) => api(CURVE, { id: run.id })));
  arena.runs.forEach((run, i) => { run.equityCurve = curves[i].run.equityCurve; });
  return arena;
}

function seriesOf(arena) {
  const runs = arena.runs.map((run, i) => ({
    id: `run-${run.id}`,
    name: run.strategySnapshot.name,
    className: `line-${(i % LINE_COLOURS) + 1}`,
    points: run.equityCurve.length ? returnsOf(run.equityCurve, Number(run.strategySnapshot.initial_cash), arena.startDate) : [],
  }));
  const baselines = arena.benchmarks.map((b) => ({
    id: `benchmark-${b.kind.toLowerCase()}`,
    name: b.label,
    className: "baseline",
    points: b.equityCurve.length ? returnsOf(b.equityCurve, b.performance.initialValue, arena.startDate) : [],
  }));
  return [...baselines, ...runs]; // the first series is the chart's main one: the baseline every run is ranked against
}

function standingRow(standing) {
  const progress = standing.run.progress;
  return h("tr", { dataset: { runId: standing.run.id } },
    h("td", { class: "num" }, String(standing.rank)),
    h("th", { scope: "row" }, link(`/runs/${standing.run.id}`, standing.modelName, { "aria-label": `Open the run of ${standing.modelName}` })),
    h("td", {}, standing.aiModel),
    h("td", {}, statusBadge(standing.status), ACTIVE.has(standing.status) ? ` ${progress.current}/${progress.total}` : ""),
    h("td", { class: `num ${tone(standing.totalReturn)}` }, signedPercent(standing.totalReturn)),
    h("td", { class: `num ${tone(standing.excessReturn)}` }, signedPercent(standing.excessReturn)),
    h("td", { class: "num" }, decimal(standing.sharpeRatio)),
    h("td", { class: "num" }, percent(standing.maxDrawdown)),
    h("td", { class: "num" }, integer(standing.totalTrades)),
    h("td", { class: "num" }, money(standing.totalFees)),
    h("td", { class: "num" }, integer(standing.llmCalls)));
}

export async function render(view, context) {
  let arena;
  try {
    arena = await loadArena(context.params.id);
  } catch (error) {
    if (error.code !== "NOT_FOUND") throw error;
    notFoundPage(view, "arena", "/arenas", "Back to your arenas");
    return;
  }
  const problem = errorBox();
  const status = h("span", { class: "badge", role: "status", id: "arena-status" });
  const baselineText = h("p", { class: "muted", id: "arena-baselines" });
  const standings = h("div", { id: "arena-standings" });
  const chart = lineChart({
    title: `Returns in the arena ${arena.name}`, series: [], shadeDrawdown: false,
    formatY: (v) => percent(Math.abs(v) < 1e-12 ? 0 : v), // an axis tick at -0 reads 0
    describe: (point) => `${point.label}: the baseline ${signedPercent(point.v)}`,
  });
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel arena");
  const remove = h("button", { type: "button", class: "danger" }, "Delete arena");

  function show(fresh) {
    arena = fresh;
    status.textContent = label(fresh.status);
    status.dataset.status = fresh.status;
    cancel.hidden = !ACTIVE.has(fresh.status);
    remove.hidden = ACTIVE.has(fresh.status);
    baselineText.textContent = fresh.benchmarks.map((b) => `${b.label}: ${signedPercent(b.performance.totalReturn)}`).join(" · ");
    standings.replaceChildren(table(`Standings of ${fresh.name}`,
      [["Rank", "num"], ["Model"], ["AI model"], ["Status"], ["Return", "num"], ["Excess", "num"], ["Sharpe", "num"],
        ["Max drawdown", "num"], ["Trades", "num"], ["Fees", "num"], ["LLM calls", "num"]],
      fresh.standings.map(standingRow)));
    chart.update({ series: seriesOf(fresh) });
  }

  const act = (work) => async () => {
    try {
      await work();
      showError(problem, null);
    } catch (error) {
      showError(problem, error);
    }
  };
  cancel.addEventListener("click", act(() => api(CANCEL, { id: arena.id })));
  remove.addEventListener("click", act(async () => {
    const sure = await confirmAction({
      title: `Delete the arena ${arena.name}?`,
      message: "The arena and all its runs, with their trades, curves and reasoning logs, are deleted for good.",
      confirmLabel: "Delete arena",
    });
    if (!sure) return;
    await api(DELETE, { id: arena.id });
    navigate("/arenas");
  }));

  view.append(
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("/arenas", "Arenas"), " / ", arena.name),
    h("div", { class: "page-head" }, h("h1", { tabindex: -1 }, arena.name), h("div", { class: "actions" }, cancel, remove)),
    problem,
    section("Standings",
      h("p", { class: "run-head" }, h("span", {}, `${arena.startDate} – ${arena.endDate}`), status),
      baselineText, standings,
      h("p", { class: "muted" }, "Ranked by total return; excess is over the buy-and-hold baseline over the same days.")),
    section("Returns", chart.element,
      h("p", { class: "muted" }, "Each run's return since the start; dashed: the baselines, the same cash held without costs.")));
  show(arena);
  if (ACTIVE.has(arena.status) || !arena.endedAt) followLive(arena.id, show, problem, context);
}

function followLive(arenaId, show, problem, { signal, onLeave }) {
  let timer = null;
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const fresh = await loadArena(arenaId);
        if (!signal.aborted) show(fresh);
      } catch (error) {
        if (!signal.aborted) showError(problem, error);
      }
    }, RELOAD_DELAY_MS);
  };
  const stop = follow({
    query: ARENA_EVENTS,
    field: "arenaEvents",
    variables: { arenaId },
    onEvent(event) {
      if (event.kind === "ENDED" || RELOAD_ON.has(event.runEvent.kind)) reload();
    },
    onError: (error) => showError(problem, error),
    onComplete: reload,
  });
  onLeave(() => {
    stop();
    clearTimeout(timer);
  });
}
