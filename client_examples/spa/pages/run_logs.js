// The reasoning-log viewer: for a chosen day (kept in the URL as ?day=), every step of the agent: its
// briefing, its messages, and each tool call with its arguments and result, folded until opened.

import { api } from "../lib/api.js";
import { h, section, uniqueId } from "../lib/dom.js";
import { time } from "../lib/format.js";
import { renderMarkdown } from "../lib/markdown.js";
import { errorBox, loading, showError } from "../lib/ui.js";

const STEPS_PER_PAGE = 10;
const LOGS = `query($id: ID!, $date: Date, $after: String) { run(id: $id) {
  logs(date: $date, first: ${STEPS_PER_PAGE}, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id date timestamp messages } } } } }`;
const SUMMARY_ARGS = 80;

function folded(summary, ...content) {
  return h("details", { class: "log-fold" }, h("summary", {}, summary), ...content);
}

function block(text) {
  return h("pre", { class: "log-text" }, text == null || text === "" ? "(empty)" : String(text));
}

function argsPreview(args) {
  const text = Object.entries(args || {}).map(([key, value]) => `${key}: ${JSON.stringify(value)}`).join(", ");
  return text.length > SUMMARY_ARGS ? `${text.slice(0, SUMMARY_ARGS - 1)}…` : text;
}

function toolCall(call, result) {
  return h("details", { class: "tool-call", dataset: { tool: call.name } },
    h("summary", {}, "Tool call ", h("code", {}, call.name), h("span", { class: "muted" }, ` (${argsPreview(call.args)})`)),
    h("h5", {}, "Arguments"), block(JSON.stringify(call.args ?? {}, null, 2)),
    h("h5", {}, "Result"), result ? block(result.content) : h("p", { class: "muted" }, "No result was recorded."));
}

/** One step's messages: tool results are shown inside the call that asked for them. */
export function renderMessages(messages) {
  const results = new Map(messages.filter((m) => m.role === "tool").map((m) => [m.tool_call_id, m]));
  const shown = new Set();
  const items = [];
  for (const message of messages) {
    if (message.role === "system") items.push(folded("System prompt", block(message.content)));
    else if (message.role === "user") items.push(folded("Briefing", block(message.content)));
    else if (message.role === "assistant") {
      const calls = (message.tool_calls || []).map((call) => {
        shown.add(call.id);
        return toolCall(call, results.get(call.id));
      });
      items.push(h("article", { class: "log-message" },
        h("h4", {}, "Agent"),
        message.content ? h("div", { class: "markdown" }, renderMarkdown(message.content)) : null,
        calls));
    } else if (message.role === "tool" && !shown.has(message.tool_call_id)) {
      items.push(folded(`Tool result${message.name ? ` of ${message.name}` : ""}`, block(message.content)));
    }
  }
  return items;
}

function stepView(log, intraday) {
  const title = intraday ? `Bar at ${time(log.timestamp)}` : `Step of ${log.date}`;
  return h("section", { class: "log-step", "aria-label": title }, h("h3", {}, title), renderMessages(log.messages || []));
}

export function logsSection(run, { query, setQuery }) {
  const problem = errorBox();
  const dayId = uniqueId("log-day");
  const day = h("select", { id: dayId, name: "day" });
  const previous = h("button", { type: "button", class: "secondary", "aria-label": "Previous day" }, "‹");
  const next = h("button", { type: "button", class: "secondary", "aria-label": "Next day" }, "›");
  const steps = h("div", { class: "log-steps" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more steps");
  const intraday = run.mode === "INTRADAY";
  let days = [];
  let current = null;
  let after = null;

  async function load(date, append = false) {
    if (!append) {
      after = null;
      steps.replaceChildren(loading("Loading the reasoning…"));
    }
    try {
      const { logs } = (await api(LOGS, { id: run.id, date, after })).run;
      if (!append) steps.replaceChildren();
      steps.append(...logs.edges.map((e) => stepView(e.node, intraday)));
      if (!logs.totalCount) steps.replaceChildren(h("p", { class: "empty" }, `No reasoning was recorded on ${date}.`));
      after = logs.pageInfo.endCursor;
      more.hidden = !logs.pageInfo.hasNextPage;
      showError(problem, null);
    } catch (error) {
      showError(problem, error);
    }
  }

  function showChoice() {
    day.value = current;
    const index = days.indexOf(current);
    previous.disabled = index <= 0;
    next.disabled = index === -1 || index >= days.length - 1;
  }

  function choose(date) {
    current = date;
    showChoice();
    setQuery({ day: date === days[0] ? null : date });
    load(date);
  }

  day.addEventListener("change", () => choose(day.value));
  previous.addEventListener("click", () => choose(days[days.indexOf(day.value) - 1]));
  next.addEventListener("click", () => choose(days[days.indexOf(day.value) + 1]));
  more.addEventListener("click", () => load(day.value, true));

  return {
    element: section("Reasoning",
      h("div", { class: "toolbar" }, h("label", { for: dayId }, "Day"), day, previous, next),
      problem, steps, more),
    update(fresh) {
      const known = [...new Set(fresh.equityCurve.map((p) => p.date))];
      if (known.length === days.length) return;
      days = known;
      day.replaceChildren(...days.map((d) => h("option", { value: d }, d)));
      if (!days.length) {
        steps.replaceChildren(h("p", { class: "empty" }, "No reasoning recorded yet."));
        return;
      }
      if (current === null) {
        const wanted = query.get("day");
        choose(days.includes(wanted) ? wanted : days[0]);
      } else {
        showChoice();
      }
    },
  };
}
