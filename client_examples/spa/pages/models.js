// The user's models: a table with each model's latest run, and the way to a new one.

import { api } from "../lib/api.js";
import { h, link, table } from "../lib/dom.js";
import { signedPercent, tone } from "../lib/format.js";
import { cursorPager, errorBox, loading, showError, statusBadge } from "../lib/ui.js";

const PAGE_SIZE = 25;
const MODELS = `query($after: String) { models(first: ${PAGE_SIZE}, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { node { id name aiModel allowedTickers isActive latestRun { id runNumber status finalReturn } } } } }`;

function latestRunCell(run) {
  if (!run) return h("td", { class: "muted" }, "No runs yet");
  return h("td", {},
    link(`/runs/${run.id}`, `Run #${run.runNumber}`, { "aria-label": `Run ${run.runNumber}` }), " ",
    statusBadge(run.status), " ",
    run.finalReturn == null ? null : h("span", { class: `num ${tone(run.finalReturn)}` }, signedPercent(run.finalReturn)));
}

function modelRow(model) {
  return h("tr", {},
    h("th", { scope: "row" }, link(`/models/${model.id}`, model.name)),
    h("td", {}, model.aiModel),
    h("td", {}, model.allowedTickers.join(", ")),
    h("td", {}, model.isActive ? "Active" : h("span", { class: "muted" }, "Inactive")),
    latestRunCell(model.latestRun),
    h("td", {}, link(`/models/${model.id}/edit`, "Edit", { "aria-label": `Edit ${model.name}` })));
}

export async function render(view) {
  const problem = errorBox();
  const body = h("div", {}, loading());
  const pager = cursorPager({
    name: "models",
    load: async (after) => (await api(MODELS, { after })).models,
    show(connection) {
      if (!connection.totalCount) {
        body.replaceChildren(h("p", { class: "empty" }, "No models yet. A model is an AI trading agent: pick the tickers it may trade, ",
          "its AI model and its rules, then backtest it. ", link("/models/new", "Create your first model"), "."));
        return;
      }
      body.replaceChildren(table("Your trading models",
        [["Name"], ["AI model"], ["Tickers"], ["State"], ["Latest run"], [h("span", { class: "visually-hidden" }, "Actions")]],
        connection.edges.map((edge) => modelRow(edge.node))));
    },
  });
  view.append(
    h("div", { class: "page-head" }, h("h1", { tabindex: -1 }, "Models"), link("/models/new", "New model", { class: "button" })),
    h("section", { class: "card", "aria-label": "Your models" }, problem, body, pager.nav));
  try {
    await pager.first();
  } catch (error) {
    body.replaceChildren();
    showError(problem, error);
  }
}
