// Starting a run of a model: a daily backtest over a date range, or an intraday session of one symbol, each
// measured against its buy-and-hold and an index.

import { api } from "../lib/api.js";
import { h, section } from "../lib/dom.js";
import { clearFieldErrors, field, select, showFieldMessage, showFormError } from "../lib/forms.js";
import { busy, errorBox } from "../lib/ui.js";

const START_DAILY = `mutation($modelId: ID!, $input: DailyRunInput!) { startDailyRun(modelId: $modelId, input: $input) { id } }`;
const START_INTRADAY = `mutation($modelId: ID!, $input: IntradayRunInput!) {
  startIntradayRun(modelId: $modelId, input: $input) { id } }`;
const SESSIONS = [["REGULAR", "Regular (09:30–16:00)"], ["PRE", "Pre-market (04:00–09:30)"], ["AFTER", "After hours (16:00–20:00)"]];

function modeChoice(name, value, text, checked) {
  return h("label", { class: "choice" }, h("input", { type: "radio", name, value, checked }), ` ${text}`);
}

export function runStartForm(model, { onStarted }) {
  const last = model.latestRun && model.latestRun.mode === "DAILY" ? model.latestRun : {};
  const general = errorBox();
  const daily = h("div", { class: "inline-fields" },
    field("Start date", h("input", { name: "startDate", type: "date", value: last.startDate || "" })),
    field("End date", h("input", { name: "endDate", type: "date", value: last.endDate || "" })));
  const intraday = h("div", { class: "inline-fields", hidden: true },
    field("Symbol", select({ name: "symbol" }, model.allowedTickers.map((t) => [t, t]))),
    field("Date", h("input", { name: "date", type: "date" })),
    field("Session", select({ name: "session" }, SESSIONS, "REGULAR")));
  const maxSteps = field("Max steps per day", h("input", { name: "maxSteps", type: "number", min: 1, max: 100, value: last.maxSteps || 30 }),
    { help: "Most agent turns (LLM calls) per trading day or bar." });
  const index = field("Index (optional)", h("input", { name: "benchmarkSymbol", placeholder: "QQQ", autocapitalize: "characters" }),
    { help: "The run is measured against its own buy-and-hold and this symbol. Empty: QQQ when it has prices for the days; none: no index." });
  const submit = h("button", { type: "submit" }, "Start daily backtest");
  const form = h("form", { class: "run-start", novalidate: true },
    h("fieldset", { class: "choices" }, h("legend", {}, "Kind of run"),
      modeChoice("mode", "DAILY", "Daily backtest", true), modeChoice("mode", "INTRADAY", "Intraday session", false)),
    daily, intraday, h("div", { class: "inline-fields" }, maxSteps, index), general, h("div", { class: "actions" }, submit));
  form.addEventListener("change", (event) => {
    if (event.target.name !== "mode") return;
    const isDaily = event.target.value === "DAILY";
    daily.hidden = !isDaily;
    intraday.hidden = isDaily;
    submit.textContent = isDaily ? "Start daily backtest" : "Start intraday session";
    clearFieldErrors(form);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = form.elements;
    const steps = values.maxSteps.value === "" ? null : Number(values.maxSteps.value);
    const isDaily = values.mode.value === "DAILY";
    const missing = (isDaily ? [["startDate", "Choose a start date."], ["endDate", "Choose an end date."]] : [["date", "Choose a date."]])
      .find(([name]) => !values[name].value);
    if (missing) {
      showFieldMessage(form, ...missing);
      return;
    }
    const chosenIndex = values.benchmarkSymbol.value.trim();
    const measure = chosenIndex ? { benchmarkSymbol: chosenIndex.toLowerCase() === "none" ? null : chosenIndex } : {};
    busy(form, async () => {
      clearFieldErrors(form);
      try {
        const run = isDaily
          ? (await api(START_DAILY, { modelId: model.id, input: { startDate: values.startDate.value, endDate: values.endDate.value, maxSteps: steps, ...measure } })).startDailyRun
          : (await api(START_INTRADAY, { modelId: model.id, input: { symbol: values.symbol.value, date: values.date.value, session: values.session.value, maxSteps: steps, ...measure } })).startIntradayRun;
        onStarted(run);
      } catch (error) {
        showFormError(form, error, general);
      }
    });
  });
  if (!model.isActive) general.textContent = "This model is inactive: edit it and tick Active to run it.";
  return section("Start a run", form);
}
