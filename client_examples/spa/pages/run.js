// /runs/:id: one run, followed live while it runs. The page is a list of sections; each takes the
// latest run data (update) and, while the run is live, its events (onEvent). A new section (e.g. the
// run's relative performance) is one more entry in SECTIONS.

import { api, follow } from "../lib/api.js";
import { h, link } from "../lib/dom.js";
import { notFoundPage } from "../lib/ui.js";
import { RUN_FIELDS } from "./run_data.js";
import { chartSection } from "./run_chart.js";
import { logsSection } from "./run_logs.js";
import { performanceSection } from "./run_performance.js";
import { positionsSection } from "./run_positions.js";
import { relativeSection } from "./run_relative.js";
import { summarySection } from "./run_summary.js";

const RUN = `query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`;
const RUN_EVENTS = `subscription($runId: ID!, $afterSeq: Int) { runEvents(runId: $runId, afterSeq: $afterSeq) {
  seq kind status message progress { current total message currentDate }
  position { id date timestamp action symbol amount price fee cash holdings } } }`;
const SECTIONS = [summarySection, chartSection, performanceSection, relativeSection, positionsSection, logsSection];
const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED"]);
const RELOAD_DELAY_MS = 400; // events come in bursts: one reload per burst

export async function render(view, context) {
  let run;
  try {
    ({ run } = await api(RUN, { id: context.params.id }));
  } catch (error) {
    if (error.code !== "NOT_FOUND") throw error;
    notFoundPage(view, "run", "/models", "Back to your models");
    return;
  }
  const sections = SECTIONS.map((make) => make(run, context));
  view.append(
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
      link("/models", "Models"), " / ", link(`/models/${run.model.id}`, run.model.name), " / ", `Run #${run.runNumber}`),
    h("h1", { tabindex: -1 }, `${run.model.name}: run #${run.runNumber}`),
    run.arena ? h("p", { class: "muted" }, "One of the runs of the arena ", link(`/arenas/${run.arena.id}`, run.arena.name), ".") : null,
    ...sections.map((s) => s.element));
  sections.forEach((s) => s.update(run));
  if (!TERMINAL.has(run.status)) followLive(run, sections, context);
}

function followLive(run, sections, { signal, onLeave }) {
  let timer = null;
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const fresh = (await api(RUN, { id: run.id })).run;
        if (!signal.aborted) sections.forEach((s) => s.update(fresh));
      } catch (error) {
        if (!signal.aborted) sections[0].showError(error);
      }
    }, RELOAD_DELAY_MS);
  };
  const stop = follow({
    query: RUN_EVENTS,
    field: "runEvents",
    variables: { runId: run.id },
    onEvent(event) {
      sections.forEach((s) => s.onEvent && s.onEvent(event));
      if (event.kind !== "PROGRESS" || TERMINAL.has(event.status)) reload();
    },
    onError: (error) => sections[0].showError(error),
    onComplete: reload,
  });
  onLeave(() => {
    stop();
    clearTimeout(timer);
  });
}
