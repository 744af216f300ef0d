// /arenas/:id: one arena, followed live over arenaEvents while its runs trade (resumed with afterSeq after a
// dropped connection): the standings, every run's return since the start beside the baselines (dashed), and
// cancelling or deleting it, each after a confirmation.

import { api, follow } from "../lib/api.js";
import { h, link, section } from "../lib/dom.js";
import { label, signedPercent } from "../lib/format.js";
import { navigate } from "../lib/navigation.js";
import { confirmAction, errorBox, notFoundPage, showError } from "../lib/ui.js";
import { arenaChart } from "./arena_chart.js";
import { showRunProgress, STANDING_FIELDS, standingsTable } from "./arena_standings.js";

const ARENA = `query($id: ID!) { arena(id: $id) {
  id name status startDate endDate maxSteps benchmarkSymbol endedAt
  runs { id strategySnapshot }
  benchmarks { kind label symbols equityCurve { date timestamp value } performance { initialValue totalReturn } }
  standings { ${STANDING_FIELDS} } } }`;
const ARENA_EVENTS = `subscription($arenaId: ID!, $afterSeq: Int) { arenaEvents(arenaId: $arenaId, afterSeq: $afterSeq) {
  seq kind status runId runEvent { kind progress { current total } } } }`;
// Each run's curve in a query of its own: the arena's runs and their curves together would be a response the
// API refuses as too large (its cost estimate counts up to 20 runs of long curves).
const CURVE = `query($id: ID!) { run(id: $id) { equityCurve { date timestamp value } } }`;
const CANCEL = "mutation($id: ID!) { cancelArena(id: $id) { id } }";
const DELETE = "mutation($id: ID!) { deleteArena(id: $id) }";
const ACTIVE = new Set(["QUEUED", "RUNNING"]);
const RELOAD_ON = new Set(["LOG", "COMPLETED", "FAILED", "CANCELLED"]); // a step's close, or a run's end
const RELOAD_DELAY_MS = 400;

/** The arena with each run's curve beside it. */
async function loadArena(id) {
  const { arena } = await api(ARENA, { id });
  const curves = await Promise.all(arena.runs.map((run) => api(CURVE, { id: run.id })));
  arena.runs.forEach((run, i) => { run.equityCurve = curves[i].run.equityCurve; });
  return arena;
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
  const chart = arenaChart(arena);
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel arena");
  const remove = h("button", { type: "button", class: "danger" }, "Delete arena");

  function show(fresh) {
    arena = fresh;
    status.textContent = label(fresh.status);
    status.dataset.status = fresh.status;
    cancel.hidden = !ACTIVE.has(fresh.status);
    remove.hidden = ACTIVE.has(fresh.status);
    baselineText.textContent = fresh.benchmarks.map((b) => `${b.label}: ${signedPercent(b.performance.totalReturn)}`).join(" · ");
    standings.replaceChildren(standingsTable(fresh));
    chart.update(fresh);
  }

  const act = (question, work) => async () => {
    if (!(await confirmAction(question))) return;
    try {
      await work();
      showError(problem, null);
    } catch (error) {
      showError(problem, error);
    }
  };
  cancel.addEventListener("click", act({
    title: `Cancel the arena ${arena.name}?`,
    message: "Every run still queued or trading stops where it is; what they traded so far stays, ranked as it stands.",
    confirmLabel: "Cancel arena", cancelLabel: "Keep it running",
  }, () => api(CANCEL, { id: arena.id })));
  remove.addEventListener("click", act({
    title: `Delete the arena ${arena.name}?`,
    message: "The arena and all its runs, with their trades, curves and reasoning logs, are deleted for good.",
    confirmLabel: "Delete arena",
  }, async () => {
    await api(DELETE, { id: arena.id });
    navigate("/arenas");
  }));

  view.append(
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("/arenas", "Arenas"), " / ", arena.name),
    h("div", { class: "page-head" }, h("h1", { tabindex: -1 }, arena.name), h("div", { class: "actions" }, cancel, remove)),
    problem,
    section("Standings",
      h("p", { class: "run-head" }, h("span", {}, `${arena.startDate} – ${arena.endDate} · at most ${arena.maxSteps} steps a day`), status),
      baselineText, standings,
      h("p", { class: "muted" }, "Ranked by total return; excess is over each baseline over the same closes. ",
        "Runs marked External tools had tools not bound to their dates.")),
    section("Returns", chart.element,
      h("p", { class: "muted" }, "Each run's return since the start; dashed: the baselines, the same cash held without costs.")));
  show(arena);
  if (ACTIVE.has(arena.status) || !arena.endedAt) followLive(arena.id, { show, standings, problem }, context);
}

function followLive(arenaId, { show, standings, problem }, { signal, onLeave }) {
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
      if (event.runEvent && event.runEvent.progress) showRunProgress(standings, event.runId, event.runEvent.progress);
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
