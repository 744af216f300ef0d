// Messages of a conversation as list items: the user's as plain text, the analyst's as safe Markdown,
// each tool call the analyst made folded beneath its reply. A reply being written grows token by token
// and shows its tool calls as they start and end.

import { h } from "../lib/dom.js";
import { renderMarkdown } from "../lib/markdown.js";

const WHO = { USER: "You", ASSISTANT: "Analyst", SYSTEM: "System" };

function json(value) {
  return typeof value === "string" ? value : JSON.stringify(value ?? {}, null, 2);
}

export function toolCallView({ name, input, output }, { running = false } = {}) {
  const summary = h("summary", {}, running ? "Using " : "Used ", h("code", {}, name), running ? "…" : "");
  const result = h("pre", { class: "log-text" }, output == null ? (running ? "Waiting for the result…" : "No result recorded.") : json(output));
  return h("details", { class: "tool-call", dataset: { tool: name } }, summary,
    h("h5", {}, "Input"), h("pre", { class: "log-text" }, json(input)), h("h5", {}, "Result"), result);
}

function body(role, content) {
  if (role === "ASSISTANT") return h("div", { class: "text markdown" }, renderMarkdown(content));
  return h("div", { class: "text pre-wrap" }, content);
}

export function messageItem(message) {
  const item = h("li", { class: `message ${message.role.toLowerCase()}` },
    h("span", { class: "who" }, WHO[message.role] || message.role),
    body(message.role, message.content),
    h("div", { class: "tools" }, (message.toolCalls || []).map((call) => toolCallView(call))));
  if (message.id) item.dataset.messageId = message.id;
  return item;
}

/** The analyst's reply while it streams in. */
export class PendingReply {
  constructor() {
    this.raw = "";
    this.text = h("div", { class: "text markdown" });
    this.tools = h("div", { class: "tools" });
    this.item = h("li", { class: "message assistant streaming", "aria-busy": "true" },
      h("span", { class: "who" }, WHO.ASSISTANT), this.text, this.tools);
    this.frame = 0;
    this.running = []; // tool calls started and not yet ended: {name, input, element}
  }

  addToken(token) {
    this.raw += token;
    // One Markdown render per frame, however many tokens arrived in it.
    if (!this.frame) this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.text.replaceChildren(renderMarkdown(this.raw));
    });
  }

  toolStarted(name, input) {
    const element = toolCallView({ name, input }, { running: true });
    this.running.push({ name, input, element });
    this.tools.append(element);
  }

  toolEnded(name, output) {
    const index = this.running.findIndex((call) => call.name === name);
    if (index === -1) return;
    const [call] = this.running.splice(index, 1);
    call.element.replaceWith(toolCallView({ name, input: call.input, output }));
  }

  /** Ends the stream without a stored message (an error with nothing written): what was written stays. */
  settle(note) {
    cancelAnimationFrame(this.frame);
    this.text.replaceChildren(renderMarkdown(this.raw));
    this.item.classList.remove("streaming");
    this.item.removeAttribute("aria-busy");
    if (note) this.item.append(h("p", { class: "muted note" }, note));
  }
}
