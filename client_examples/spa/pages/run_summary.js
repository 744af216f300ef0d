// The run's head: status and live progress, its figures, LLM usage, and what can be done with it.

import { api } from "../lib/api.js";
import { facts, h, section } from "../lib/dom.js";
import { dateTime, integer, label, money, percent, signedPercent } from "../lib/format.js";
import { navigate } from "../lib/navigation.js";
import { confirmAction, errorBox, showError, statusBadge } from "../lib/ui.js";
import { describeCosts } from "./model_costs.js";
import { ACTIVE, externalToolsBadge, period } from "./model_runs.js";

const CANCEL = "mutation($id: ID!) { cancelRun(id: $id) { id status } }";
const DELETE = "mutation($id: ID!) { deleteRun(id: $id) }";
const ASK = "mutation($modelId: ID!, $runId: ID!) { createConversation(modelId: $modelId, runId: $runId) { id } }";

/** Why this run's numbers may not be a fair backtest: its agent could read tools that know today's news. */
function externalToolsNote(run) {
  if (!run.usedExternalTools) return null;
  const names = (run.strategySnapshot.external_servers || []).map((server) => server.name).join(", ");
  return h("p", { class: "warning", id: "run-external-tools" }, externalToolsBadge(),
    ` This run's agent had the tools of ${names || "external servers"}. They are not bound to the run's dates: `,
    "what it decided may rest on what came after them.");
}

function progressText(progress, mode) {
  const unit = mode === "INTRADAY" ? "bars" : "days";
  const when = progress.currentDate ? ` · ${progress.currentDate}` : "";
  return `${progress.current} / ${progress.total} ${unit}${when}`;
}

export function summarySection(run) {
  const problem = errorBox();
  const status = h("span", { class: "badge", role: "status", id: "run-status" });
  const bar = h("progress", { id: "run-progress", max: 1, value: 0 });
  const barText = h("span", { id: "run-progress-text" });
  const message = h("p", { class: "muted", id: "run-message" });
  const failure = h("p", { class: "error", id: "run-failure" });
  const figures = h("div", { id: "run-figures" });
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel run");
  const remove = h("button", { type: "button", class: "danger" }, "Delete run");
  const ask = h("button", { type: "button", class: "secondary" }, "Ask the analyst about this run");

  const act = (work) => async () => {
    try {
      await work();
      showError(problem, null);
    } catch (error) {
      showError(problem, error);
    }
  };
  cancel.addEventListener("click", act(() => api(CANCEL, { id: run.id })));
  ask.addEventListener("click", act(async () => {
    navigate(`/chat/${(await api(ASK, { modelId: run.model.id, runId: run.id })).createConversation.id}`);
  }));
  remove.addEventListener("click", act(async () => {
    const sure = await confirmAction({
      title: `Delete run #${run.runNumber}?`,
      message: "Its trades, equity curve and reasoning logs are deleted for good.",
      confirmLabel: "Delete run",
    });
    if (!sure) return;
    await api(DELETE, { id: run.id });
    navigate(`/models/${run.model.id}`);
  }));

  function showStatus(value) {
    status.textContent = label(value);
    status.dataset.status = value;
    cancel.hidden = !ACTIVE.has(value);
    remove.hidden = ACTIVE.has(value);
  }

  function showProgress(progress, mode) {
    bar.max = Math.max(progress.total, 1);
    bar.value = progress.current;
    barText.textContent = progressText(progress, mode);
    message.textContent = progress.message || "";
  }

  const element = section(`Run #${run.runNumber}`,
    h("p", { class: "run-head" }, h("span", {}, `${label(run.mode)} · ${period(run)}`), status),
    h("label", { for: "run-progress", class: "progress-label" }, "Progress ", barText), bar,
    h("p", { class: "muted", id: "run-costs" }, `Costs and caps: ${describeCosts(run.costs)}`),
    externalToolsNote(run), message, failure, figures, problem,
    h("div", { class: "actions wrap" }, ask, cancel, remove));

  return {
    element,
    showError: (error) => showError(problem, error),
    update(fresh) {
      run = fresh;
      showStatus(fresh.status);
      showProgress(fresh.progress, fresh.mode);
      failure.textContent = fresh.error ? `The run failed: ${fresh.error}` : "";
      figures.replaceChildren(facts([
        ["Final value", money(fresh.finalPortfolioValue)],
        ["Return", signedPercent(fresh.finalReturn)],
        ["Max drawdown", percent(fresh.maxDrawdown)],
        ["Trades", integer(fresh.totalTrades)],
        ["LLM calls", integer(fresh.usage.llmCalls)],
        ["Tokens in / out", `${integer(fresh.usage.inputTokens)} / ${integer(fresh.usage.outputTokens)}`],
        ["Started", dateTime(fresh.startedAt)],
        ["Ended", dateTime(fresh.endedAt)],
      ], "facts figures"));
    },
    onEvent(event) {
      showStatus(event.status);
      if (event.progress) showProgress(event.progress, run.mode);
      if (event.kind === "FAILED" && event.message) failure.textContent = `The run failed: ${event.message}`;
    },
  };
}
