// /models/:id: what the model is, how to run it, and its run history.

import { api } from "../lib/api.js";
import { facts, h, link } from "../lib/dom.js";
import { dateTime, money } from "../lib/format.js";
import { navigate } from "../lib/navigation.js";
import { confirmAction, errorBox, notFoundPage, showError } from "../lib/ui.js";
import { describeCosts } from "./model_costs.js";
import { runHistory } from "./model_runs.js";
import { runStartForm } from "./run_start.js";

const MODEL = `query($id: ID!) { model(id: $id) {
  id name signature description isActive allowedTickers initialCash aiModel customRules customInstructions createdAt updatedAt
  extraTools parameters { temperature topP topK frequencyPenalty presencePenalty maxTokens }
  costs { commissionFixed commissionBps commissionMinimum slippageBps maxPositionWeight }
  latestRun { mode startDate endDate maxSteps } } }`;
const DELETE = "mutation($id: ID!) { deleteModel(id: $id) }";
const ASK = "mutation($id: ID!) { createConversation(modelId: $id) { id } }";

function parameterText(parameters) {
  const set = Object.entries(parameters || {}).filter(([, value]) => value != null);
  return set.length ? set.map(([name, value]) => `${name} ${value}`).join(", ") : "provider defaults";
}

function about(model) {
  const pairs = [
    ["AI model", model.aiModel],
    ["Tickers", model.allowedTickers.join(", ")],
    ["Initial cash", money(model.initialCash)],
    ["Parameters", parameterText(model.parameters)],
    ["Costs and caps", describeCosts(model.costs)],
    ["External tools", model.extraTools.length ? model.extraTools.join(", ") : "none"],
    ["Signature", model.signature],
    ["Updated", dateTime(model.updatedAt)],
  ];
  const texts = [["Description", model.description], ["Custom rules", model.customRules], ["Custom instructions", model.customInstructions]]
    .filter(([, value]) => value)
    .map(([term, value]) => h("div", { class: "prose-block" }, h("h3", {}, term), h("p", { class: "pre-wrap" }, value)));
  return h("section", { class: "card", "aria-label": "About this model" }, facts(pairs), texts);
}

export async function render(view, context) {
  let model;
  try {
    ({ model } = await api(MODEL, { id: context.params.id }));
  } catch (error) {
    if (error.code !== "NOT_FOUND") throw error;
    notFoundPage(view, "model", "/models", "Back to your models");
    return;
  }
  const problem = errorBox();
  const remove = h("button", { type: "button", class: "danger" }, "Delete model");
  const ask = h("button", { type: "button", class: "secondary" }, "Ask the analyst");
  remove.addEventListener("click", async () => {
    const sure = await confirmAction({
      title: `Delete ${model.name}?`,
      message: "The model, all its runs, their trades and reasoning logs, and its conversations are deleted for good.",
      confirmLabel: "Delete model",
    });
    if (!sure) return;
    try {
      await api(DELETE, { id: model.id });
      navigate("/models");
    } catch (error) {
      showError(problem, error);
    }
  });
  ask.addEventListener("click", async () => {
    try {
      navigate(`/chat/${(await api(ASK, { id: model.id })).createConversation.id}`);
    } catch (error) {
      showError(problem, error);
    }
  });
  const history = runHistory(model, context);
  view.append(
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("/models", "Models"), " / ", model.name),
    h("div", { class: "page-head" },
      h("h1", { tabindex: -1 }, model.name, model.isActive ? null : h("span", { class: "badge" }, "Inactive")),
      h("div", { class: "actions" }, link(`/models/${model.id}/edit`, "Edit", { class: "button secondary" }), ask, remove)),
    problem,
    about(model),
    runStartForm(model, { onStarted: (run) => navigate(`/runs/${run.id}`) }),
    history.element);
  await history.load();
}
