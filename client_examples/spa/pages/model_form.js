// The model form: every field of a trading model, in fieldsets. A new group of fields is one more entry in
// FIELDSETS: it builds its controls, reads them into the input and may check them before they are sent.

import { h } from "../lib/dom.js";
import { checkbox, field, numberOrNull, select, showFieldMessage } from "../lib/forms.js";
import { errorBox } from "../lib/ui.js";
import { costsFieldset } from "./model_costs.js";

// [GraphQL name, label, min, max, step, help]
export const PARAMETERS = [
  ["temperature", "Temperature", 0, 2, 0.05, "0 to 2; lower is more deterministic."],
  ["topP", "Top P", 0, 1, 0.05, "0 to 1."],
  ["topK", "Top K", 1, 1000, 1, "1 to 1,000 (models that support it)."],
  ["frequencyPenalty", "Frequency penalty", -2, 2, 0.1, "−2 to 2."],
  ["presencePenalty", "Presence penalty", -2, 2, 0.1, "−2 to 2."],
  ["maxTokens", "Max tokens", 1, 200000, 1, "Per reply, 1 to 200,000."],
];

const text = (form, name) => form.elements[name].value.trim();
const textOrNull = (form, name) => text(form, name) || null;

export function parseTickers(value) {
  return value.split(/[\s,;]+/).map((t) => t.trim().toUpperCase()).filter(Boolean);
}

function parseNames(value) {
  return value.split(/[\s,;]+/).map((t) => t.trim()).filter(Boolean);
}

const FIELDSETS = [
  {
    legend: "About",
    build: (model, { editing }) => [
      field("Name", h("input", { name: "name", required: true, maxlength: 100, value: model.name || "", placeholder: "Momentum on tech" })),
      field("Description (optional)", h("textarea", { name: "description", rows: 2, maxlength: 2000, value: model.description || "" })),
      editing ? checkbox("Active (only active models can start runs)", { name: "isActive", checked: model.isActive !== false }) : null,
    ],
    read: (form, { editing }) => ({
      name: text(form, "name"),
      description: textOrNull(form, "description"),
      ...(editing ? { isActive: form.elements.isActive.checked } : {}),
    }),
  },
  {
    legend: "Portfolio",
    build: (model) => [
      field("Tickers", h("input", { name: "allowedTickers", required: true, value: (model.allowedTickers || []).join(", "), placeholder: "AAPL, MSFT", autocapitalize: "characters" }),
        { help: "Symbols the model may trade, separated by commas." }),
      field("Initial cash", h("input", { name: "initialCash", type: "number", min: 0.01, step: "0.01", inputmode: "decimal", value: model.initialCash ?? 10000 })),
    ],
    read: (form) => ({
      allowedTickers: parseTickers(form.elements.allowedTickers.value),
      initialCash: numberOrNull(form.elements.initialCash),
    }),
  },
  {
    legend: "AI model",
    build: (model, { aiModels }) => [
      field("AI model", select({ name: "aiModel", required: true },
        aiModels.map((m) => [m.id, m.local ? `${m.id} (local, no network)` : m.id]), model.aiModel || aiModels[0]?.id),
      { help: "Local models are deterministic and need no API key." }),
      h("div", { class: "grid-fields" }, PARAMETERS.map(([name, labelText, min, max, step, help]) =>
        field(labelText, h("input", { name, type: "number", min, max, step, inputmode: "decimal", value: model.parameters?.[name] ?? "" }),
          { help: `${help} Empty: the provider's default.`, name: `parameters.${name}` }))),
    ],
    read: (form) => ({
      aiModel: form.elements.aiModel.value,
      parameters: Object.fromEntries(PARAMETERS.map(([name]) => [name, numberOrNull(form.elements[name])])),
    }),
  },
  {
    legend: "Strategy",
    build: (model) => [
      field("Custom rules (optional)", h("textarea", { name: "customRules", rows: 3, value: model.customRules || "" }),
        { help: "Rules the agent must follow, e.g. \"never hold more than 30 % in one stock\"." }),
      field("Custom instructions (optional)", h("textarea", { name: "customInstructions", rows: 3, value: model.customInstructions || "" }),
        { help: "How the agent should think about the market." }),
    ],
    read: (form) => ({ customRules: textOrNull(form, "customRules"), customInstructions: textOrNull(form, "customInstructions") }),
  },
  costsFieldset,
  {
    legend: "External tools",
    build: (model) => [
      field("External tool servers (optional)", h("input", { name: "extraTools", value: (model.extraTools || []).join(", "), placeholder: "research" }),
        { help: "Names of this server's external MCP servers, separated by commas. Their tools are not bound to a run's dates: "
          + "a backtest that has them may read what came after its days, and its runs are marked." }),
    ],
    read: (form) => ({ extraTools: parseNames(form.elements.extraTools.value) }),
  },
];

/**
 * The form for a new model (model = {}) or an existing one. `onSubmit(input, form, generalErrorBox)`
 * receives the CreateModelInput / UpdateModelInput built from every fieldset.
 */
export function modelForm({ model = {}, aiModels, editing = false, submitLabel, onSubmit, cancelPath }) {
  const options = { aiModels, editing };
  const general = errorBox();
  const form = h("form", { class: "model-form", novalidate: true },
    FIELDSETS.map((set) => h("fieldset", {}, h("legend", {}, set.legend), set.build(model, options))),
    general,
    h("div", { class: "actions" },
      h("button", { type: "submit" }, submitLabel),
      cancelPath ? h("a", { href: `/app${cancelPath}`, class: "button secondary" }, "Cancel") : null));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const problem = FIELDSETS.map((set) => set.check && set.check(form)).find(Boolean);
    if (problem) {
      showFieldMessage(form, ...problem);
      return;
    }
    const input = Object.assign({}, ...FIELDSETS.map((set) => set.read(form, options)));
    onSubmit(input, form, general);
  });
  return form;
}
