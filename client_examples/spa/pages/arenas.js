// /arenas: the user's arenas, and starting one: several of their models over the same days, ranked together.

import { api } from "../lib/api.js";
import { h, link, section, table } from "../lib/dom.js";
import { dateTime } from "../lib/format.js";
import { clearFieldErrors, field, showFieldMessage, showFormError } from "../lib/forms.js";
import { navigate } from "../lib/navigation.js";
import { busy, cursorPager, errorBox, loading, showError, statusBadge } from "../lib/ui.js";

const PAGE_SIZE = 20;
const ARENAS = `query($after: String) { arenas(first: ${PAGE_SIZE}, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { node { id name status startDate endDate createdAt runs { id } standings { rank modelName } } } } }`;
const MODELS = `query { models(first: 100) { edges { node { id name aiModel allowedTickers isActive } } } }`;
const START = `mutation($input: StartArenaInput!) { startArena(input: $input) { id } }`;
const MIN_MODELS = 2;
const MAX_MODELS = 20;

function arenaRow(arena) {
  const leader = arena.standings.find((s) => s.rank === 1);
  return h("tr", {},
    h("th", { scope: "row" }, link(`/arenas/${arena.id}`, arena.name)),
    h("td", {}, `${arena.startDate} – ${arena.endDate}`),
    h("td", {}, statusBadge(arena.status)),
    h("td", { class: "num" }, String(arena.runs.length)),
    h("td", {}, leader ? leader.modelName : "—"),
    h("td", {}, dateTime(arena.createdAt)));
}

function startForm(models) {
  const general = errorBox();
  const choices = h("fieldset", { class: "choices", dataset: { field: "modelIds" } },
    h("legend", {}, `Models (${MIN_MODELS} to ${MAX_MODELS})`),
    models.map((model) => h("label", { class: "choice" },
      h("input", { type: "checkbox", name: "modelIds", value: model.id, disabled: !model.isActive }),
      ` ${model.name} (${model.aiModel}; ${model.allowedTickers.join(", ")})${model.isActive ? "" : " — inactive"}`)),
    h("p", { class: "field-error", "aria-live": "polite" }));
  const form = h("form", { class: "arena-start", novalidate: true },
    field("Name", h("input", { name: "name", maxlength: 100, required: true })),
    choices,
    h("div", { class: "inline-fields" },
      field("Start date", h("input", { name: "startDate", type: "date" })),
      field("End date", h("input", { name: "endDate", type: "date" }))),
    h("div", { class: "inline-fields" },
      field("Max steps per day", h("input", { name: "maxSteps", type: "number", min: 1, max: 100, value: 30 })),
      field("Index", h("input", { name: "benchmarkSymbol", placeholder: "QQQ" }),
        { help: "Empty: QQQ when it has prices for the days; none: no index." })),
    general,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Start arena")));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = form.elements;
    const modelIds = [...form.querySelectorAll('input[name="modelIds"]:checked')].map((box) => box.value);
    const missing = [
      ["name", !values.name.value.trim(), "Give the arena a name."],
      ["modelIds", modelIds.length < MIN_MODELS || modelIds.length > MAX_MODELS, `Choose ${MIN_MODELS} to ${MAX_MODELS} models.`],
      ["startDate", !values.startDate.value, "Choose a start date."],
      ["endDate", !values.endDate.value, "Choose an end date."],
    ].find(([, wrong]) => wrong);
    if (missing) {
      if (missing[0] === "modelIds") {
        clearFieldErrors(form);
        choices.querySelector(".field-error").textContent = missing[2];
        (choices.querySelector("input:not([disabled])") || choices).focus();
      } else {
        showFieldMessage(form, missing[0], missing[2]);
      }
      return;
    }
    const index = values.benchmarkSymbol.value.trim();
    const input = {
      name: values.name.value.trim(), modelIds, startDate: values.startDate.value, endDate: values.endDate.value,
      maxSteps: values.maxSteps.value === "" ? null : Number(values.maxSteps.value),
    };
    if (index) input.benchmarkSymbol = index.toLowerCase() === "none" ? null : index;
    busy(form, async () => {
      clearFieldErrors(form);
      try {
        navigate(`/arenas/${(await api(START, { input })).startArena.id}`);
      } catch (error) {
        if (error.extensions && error.extensions.field === "modelIds") {
          showError(general, null);
          choices.querySelector(".field-error").textContent = error.message;
        } else {
          showFormError(form, error, general);
        }
      }
    });
  });
  return section("Start an arena", form);
}

export async function render(view) {
  const problem = errorBox();
  const body = h("div", {}, loading());
  const pager = cursorPager({
    name: "arenas",
    load: async (after) => (await api(ARENAS, { after })).arenas,
    show(connection) {
      body.replaceChildren(connection.totalCount
        ? table("Your arenas", [["Name"], ["Days"], ["Status"], ["Runs", "num"], ["Leader"], ["Started"]],
          connection.edges.map((edge) => arenaRow(edge.node)))
        : h("p", { class: "empty" }, "No arenas yet. An arena runs several of your models over the same days and ranks them against the market."));
    },
  });
  view.append(h("div", { class: "page-head" }, h("h1", { tabindex: -1 }, "Arenas")), problem);
  try {
    const models = (await api(MODELS)).models.edges.map((edge) => edge.node);
    view.append(models.length >= MIN_MODELS
      ? startForm(models)
      : section("Start an arena", h("p", { class: "muted" }, "An arena needs two or more models: ", link("/models/new", "create one"), ".")));
    view.append(h("section", { class: "card", "aria-label": "Your arenas" }, body, pager.nav));
    await pager.first();
  } catch (error) {
    body.replaceChildren();
    showError(problem, error);
  }
}
