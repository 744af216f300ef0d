// A model's run history: filtered by status (kept in the URL), paged, with cancel and delete.

import { api } from "../lib/api.js";
import { h, link, section, table, uniqueId } from "../lib/dom.js";
import { dateTime, integer, label, signedPercent, tone } from "../lib/format.js";
import { select } from "../lib/forms.js";
import { confirmAction, cursorPager, errorBox, showError, statusBadge } from "../lib/ui.js";

const PAGE_SIZE = 20;
const REFRESH_MS = 3000; // while a run is queued or running, its row follows it
const STATUSES = ["QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"];
export const ACTIVE = new Set(["QUEUED", "RUNNING"]);
const RUNS = `query($id: ID!, $status: RunStatus, $after: String) { model(id: $id) {
  runs(first: ${PAGE_SIZE}, after: $after, status: $status) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id runNumber mode status startDate endDate symbol date session createdAt finalReturn totalTrades usedExternalTools
      progress { current total } } } } } }`;
const CANCEL = "mutation($id: ID!) { cancelRun(id: $id) { id status } }";
const DELETE = "mutation($id: ID!) { deleteRun(id: $id) }";

/** The mark of a run whose agent had external tools, not bound to its dates. */
export function externalToolsBadge() {
  return h("span", { class: "badge external", title: "Its agent had external tools, not bound to the run's dates" }, "External tools");
}

export function period(run) {
  if (run.mode === "INTRADAY") return `${run.symbol} ${run.date} (${label(run.session)})`;
  return `${run.startDate} – ${run.endDate}`;
}

export function runHistory(model, { query, setQuery, onLeave }) {
  const problem = errorBox();
  const body = h("div");
  const filterId = uniqueId("run-status");
  const filter = select({ name: "status", id: filterId },
    [["", "All runs"], ...STATUSES.map((s) => [s, label(s)])], query.get("status") || "");
  let timer = null;

  async function act(run, document, question) {
    if (question && !(await confirmAction(question))) return;
    try {
      await api(document, { id: run.id });
      showError(problem, null);
      await pager.reload();
    } catch (error) {
      showError(problem, error);
    }
  }

  function actions(run) {
    if (ACTIVE.has(run.status)) {
      return h("button", { type: "button", class: "secondary", "aria-label": `Cancel run ${run.runNumber}`, onclick: () => act(run, CANCEL) }, "Cancel");
    }
    return h("button", {
      type: "button", class: "secondary danger-text", "aria-label": `Delete run ${run.runNumber}`,
      onclick: () => act(run, DELETE, {
        title: `Delete run #${run.runNumber}?`,
        message: "Its trades, equity curve and reasoning logs are deleted for good.",
        confirmLabel: "Delete run",
      }),
    }, "Delete");
  }

  function row(run) {
    const progress = ACTIVE.has(run.status) && run.progress.total ? ` ${run.progress.current}/${run.progress.total}` : "";
    return h("tr", { dataset: { runId: run.id } },
      h("th", { scope: "row" }, link(`/runs/${run.id}`, `#${run.runNumber}`, { "aria-label": `Open run ${run.runNumber}` })),
      h("td", {}, label(run.mode)),
      h("td", {}, period(run)),
      h("td", {}, statusBadge(run.status), progress, run.usedExternalTools ? externalToolsBadge() : null),
      h("td", { class: `num ${tone(run.finalReturn)}` }, signedPercent(run.finalReturn)),
      h("td", { class: "num" }, integer(run.totalTrades)),
      h("td", {}, dateTime(run.createdAt)),
      h("td", {}, actions(run)));
  }

  const pager = cursorPager({
    name: "runs",
    load: async (after) => (await api(RUNS, { id: model.id, status: filter.value || null, after })).model.runs,
    show(connection) {
      const runs = connection.edges.map((e) => e.node);
      body.replaceChildren(runs.length
        ? table("Runs of this model", [["Run"], ["Kind"], ["Period"], ["Status"], ["Return", "num"], ["Trades", "num"], ["Started"], [h("span", { class: "visually-hidden" }, "Actions")]], runs.map(row))
        : h("p", { class: "empty" }, filter.value ? `No ${label(filter.value).toLowerCase()} runs.` : "No runs yet: start one above."));
      clearTimeout(timer);
      if (runs.some((run) => ACTIVE.has(run.status))) timer = setTimeout(() => pager.reload().catch(() => {}), REFRESH_MS);
    },
  });
  onLeave(() => clearTimeout(timer));
  filter.addEventListener("change", () => {
    setQuery({ status: filter.value });
    pager.first().catch((error) => showError(problem, error));
  });

  const element = section("Runs", h("div", { class: "toolbar" }, h("label", { for: filterId }, "Status"), filter), problem, body, pager.nav);
  return {
    element,
    load: () => pager.first().catch((error) => showError(problem, error)),
  };
}
