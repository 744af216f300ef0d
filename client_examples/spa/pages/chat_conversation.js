// One conversation: its messages, the reply streaming in (stoppable), and rename, archive, export, delete.

import { api, follow } from "../lib/api.js";
import { h, link } from "../lib/dom.js";
import { navigate } from "../lib/navigation.js";
import { busy, confirmAction, download, errorBox, showError } from "../lib/ui.js";
import { messageItem, PendingReply } from "./chat_messages.js";

const MESSAGE_FIELDS = "id role content toolCalls createdAt";
const CONVERSATION = `query($id: ID!, $before: String) { conversation(id: $id) {
  id title archived model { id name } run { id runNumber }
  messages(last: 50, before: $before) { pageInfo { hasPreviousPage startCursor } edges { node { ${MESSAGE_FIELDS} } } } } }`;
const CHAT_EVENTS = `subscription($conversationId: ID!, $afterSeq: Int) { chatEvents(conversationId: $conversationId, afterSeq: $afterSeq) {
  seq kind token tool toolInput toolOutput title error message { ${MESSAGE_FIELDS} } } }`;
const SEND = `mutation($id: ID!, $content: String!) { sendMessage(conversationId: $id, content: $content) { ${MESSAGE_FIELDS} } }`;
const CANCEL = "mutation($id: ID!) { cancelReply(conversationId: $id) }";
const RENAME = "mutation($id: ID!, $title: String!) { renameConversation(id: $id, title: $title) { id title } }";
const ARCHIVE = "mutation($id: ID!) { archiveConversation(id: $id) { id archived } }";
const UNARCHIVE = "mutation($id: ID!) { unarchiveConversation(id: $id) { id archived } }";
const DELETE = "mutation($id: ID!) { deleteConversation(id: $id) }";
const EXPORT = "query($id: ID!, $format: ExportFormat) { exportConversation(id: $id, format: $format) }";
const RECENT_MS = 10 * 60 * 1000; // a reply older than this lost its worker (the server's own limit)
const EXPORTS = [["MARKDOWN", "Markdown", "md", "text/markdown"], ["JSON", "JSON", "json", "application/json"]];

function fileName(title, extension) {
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60) || "conversation";
  return `${slug}.${extension}`;
}

/**
 * Renders the conversation into `pane`; `onChange()` tells the sidebar a title or the archive flag
 * changed. Resolves to the conversation (null when it is not found).
 */
export async function openConversation(pane, id, { onChange, onLeave, signal }) {
  let conversation;
  try {
    ({ conversation } = await api(CONVERSATION, { id }));
  } catch (error) {
    if (error.code !== "NOT_FOUND") throw error;
    pane.replaceChildren(h("h2", {}, "No such conversation"), h("p", {}, "It was deleted, or it is not yours. ", link("/chat", "Back to the analyst"), "."));
    return null;
  }
  const known = new Set(conversation.messages.edges.map((e) => e.node.id));
  const problem = errorBox();
  const title = h("h2", { id: "conversation-title", tabindex: -1 }, conversation.title);
  const archivedBadge = h("span", { class: "badge", hidden: !conversation.archived }, "Archived");
  const list = h("ol", { class: "messages", role: "log", "aria-label": "Messages", "aria-live": "polite" },
    conversation.messages.edges.map((e) => messageItem(e.node)));
  const earlier = h("button", { type: "button", class: "link", hidden: !conversation.messages.pageInfo.hasPreviousPage }, "Show earlier messages");
  let before = conversation.messages.pageInfo.startCursor;
  const input = h("textarea", { id: "message-input", name: "content", rows: 2, required: true, placeholder: "How did my last run do?" });
  const send = h("button", { type: "submit" }, "Send");
  const stop = h("button", { type: "button", class: "secondary", hidden: true }, "Stop reply");
  const form = h("form", { class: "compose" }, h("label", { for: "message-input" }, "Message"), input, h("div", { class: "actions" }, send, stop));
  const state = { awaiting: false, pending: null, stopped: false };

  const fail = (error) => showError(problem, error);
  const scrollDown = () => { list.scrollTop = list.scrollHeight; };

  function setAwaiting(value, { lock = true } = {}) {
    state.awaiting = value;
    send.disabled = value && lock;
    stop.hidden = !value;
  }

  function pending() {
    if (!state.pending) state.pending = new PendingReply();
    if (state.awaiting && !state.pending.item.isConnected) list.append(state.pending.item);
    return state.pending;
  }

  function finish(event) {
    const reply = state.pending;
    state.pending = null;
    const message = event.message;
    if (message && known.has(message.id)) {
      if (reply) reply.item.remove(); // a replayed reply already on screen
      return;
    }
    if (message) {
      known.add(message.id);
      const item = messageItem(message);
      if (state.stopped) item.append(h("p", { class: "muted note" }, "You stopped this reply."));
      if (reply && reply.item.isConnected) reply.item.replaceWith(item);
      else if (state.awaiting) list.append(item);
    } else if (reply && reply.item.isConnected) {
      if (reply.raw) reply.settle(state.stopped ? "You stopped this reply." : "");
      else reply.item.remove();
    }
    if (event.kind === "ERROR" && state.awaiting && !state.stopped) {
      problem.textContent = `The analyst could not answer: ${event.error || "unknown error"}`;
    }
    state.stopped = false;
    setAwaiting(false);
  }

  function onEvent(event) {
    if (event.kind === "TITLE") {
      // Only a reply being written now names the conversation: a replayed title is older than a rename.
      if (!state.awaiting) return;
      title.textContent = conversation.title = event.title;
      onChange();
    } else if (event.kind === "TOKEN") pending().addToken(event.token);
    else if (event.kind === "TOOL_START") pending().toolStarted(event.tool, event.toolInput);
    else if (event.kind === "TOOL_END") pending().toolEnded(event.tool, event.toolOutput);
    else if (event.kind === "COMPLETE" || event.kind === "ERROR") finish(event);
    scrollDown();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const content = input.value.trim();
    if (!content) {
      problem.textContent = "Please write a message first.";
      input.focus();
      return;
    }
    const mine = messageItem({ role: "USER", content });
    list.append(mine); // shown at once, so the reply always comes after it
    scrollDown();
    setAwaiting(true);
    try {
      const { sendMessage } = await api(SEND, { id, content });
      showError(problem, null);
      known.add(sendMessage.id);
      mine.dataset.messageId = sendMessage.id;
      input.value = "";
      if (state.awaiting) pending(); // the reply's place, with a cursor until the first token
    } catch (error) {
      mine.remove();
      setAwaiting(false);
      fail(error);
    }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stop.addEventListener("click", async () => {
    try {
      state.stopped = true;
      await api(CANCEL, { id });
    } catch (error) {
      state.stopped = false;
      fail(error);
    }
  });
  earlier.addEventListener("click", async () => {
    try {
      const older = (await api(CONVERSATION, { id, before })).conversation.messages;
      older.edges.forEach((e) => known.add(e.node.id));
      list.prepend(...older.edges.map((e) => messageItem(e.node)));
      before = older.pageInfo.startCursor;
      earlier.hidden = !older.pageInfo.hasPreviousPage;
    } catch (error) {
      fail(error);
    }
  });

  const toolbar = conversationActions(conversation, { title, archivedBadge, problem, onChange });
  const context = conversation.run
    ? h("p", { class: "muted" }, "About ", link(`/runs/${conversation.run.id}`, `run #${conversation.run.runNumber}`), " of ", link(`/models/${conversation.model.id}`, conversation.model.name))
    : conversation.model ? h("p", { class: "muted" }, "About ", link(`/models/${conversation.model.id}`, conversation.model.name)) : null;
  pane.replaceChildren(h("div", { class: "conversation-head" }, h("div", {}, title, archivedBadge, context), toolbar),
    problem, earlier, list, form);
  scrollDown();

  // A reply still being written when the page opened (a reload mid-reply) is shown as it continues; the
  // Send button stays free, since that reply may also have died with no event left to say so.
  const edges = conversation.messages.edges;
  const last = edges.length ? edges[edges.length - 1].node : null;
  if (last && last.role === "USER" && Date.now() - Date.parse(last.createdAt) < RECENT_MS) setAwaiting(true, { lock: false });
  const stopFollowing = follow({ query: CHAT_EVENTS, field: "chatEvents", variables: { conversationId: id }, onEvent, onError: fail });
  onLeave(stopFollowing);
  if (signal.aborted) stopFollowing();
  return conversation;
}

function conversationActions(conversation, { title, archivedBadge, problem, onChange }) {
  const id = conversation.id;
  const run = (work) => async (event) => {
    try {
      await work(event);
      showError(problem, null);
    } catch (error) {
      showError(problem, error);
    }
  };
  const rename = h("button", { type: "button", class: "secondary" }, "Rename");
  const archive = h("button", { type: "button", class: "secondary" }, conversation.archived ? "Unarchive" : "Archive");
  const remove = h("button", { type: "button", class: "danger" }, "Delete");
  const exports = EXPORTS.map(([format, text, extension, type]) => h("button", {
    type: "button", class: "secondary", "aria-label": `Export as ${text}`,
    onclick: run(async () => {
      const { exportConversation } = await api(EXPORT, { id, format });
      download(fileName(conversation.title, extension), exportConversation, type);
    }),
  }, `Export ${text}`));

  rename.addEventListener("click", () => {
    const field = h("input", { id: "rename-input", name: "title", value: conversation.title, maxlength: 200, required: true });
    const form = h("form", { class: "inline rename" }, h("label", { for: "rename-input" }, "New title"), field,
      h("button", { type: "submit" }, "Save title"), h("button", { type: "button", class: "secondary", onclick: () => form.replaceWith(title) }, "Cancel"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(form, run(async () => {
        const renamed = (await api(RENAME, { id, title: field.value })).renameConversation;
        title.textContent = conversation.title = renamed.title;
        form.replaceWith(title);
        onChange();
      }));
    });
    form.addEventListener("keydown", (event) => event.key === "Escape" && form.replaceWith(title));
    title.replaceWith(form);
    field.select();
  });
  archive.addEventListener("click", run(async () => {
    const archived = conversation.archived
      ? (await api(UNARCHIVE, { id })).unarchiveConversation.archived
      : (await api(ARCHIVE, { id })).archiveConversation.archived;
    conversation.archived = archived;
    archive.textContent = archived ? "Unarchive" : "Archive";
    archivedBadge.hidden = !archived;
    onChange();
  }));
  remove.addEventListener("click", run(async () => {
    const sure = await confirmAction({
      title: `Delete “${conversation.title}”?`,
      message: "Every message of this conversation is deleted for good. Export it first to keep a copy.",
      confirmLabel: "Delete conversation",
    });
    if (!sure) return;
    await api(DELETE, { id });
    onChange();
    navigate(conversation.model ? `/chat?model=${encodeURIComponent(conversation.model.id)}` : "/chat");
  }));
  return h("div", { class: "actions wrap", role: "group", "aria-label": "Conversation actions" }, rename, archive, ...exports, remove);
}
