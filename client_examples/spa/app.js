// The AIBT single-page app: sign in, models, daily runs followed live, and the analyst chat.

import { describeError, request } from "./graphql.js";
import { followEvents, SubscriptionClient, websocketURL } from "./ws.js";

const USER_FIELDS = "id email displayName role";
const Q = {
  me: `{ me { ${USER_FIELDS} } }`,
  login: `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token user { ${USER_FIELDS} } } }`,
  signup: `mutation($email: String!, $password: String!, $displayName: String) {
    signup(email: $email, password: $password, displayName: $displayName) { token user { ${USER_FIELDS} } } }`,
  logout: "mutation { logout }",
  aiModels: "{ aiModels { id local description } }",
  models: `{ models(first: 100) { totalCount edges { node {
    id name aiModel allowedTickers initialCash latestRun { id runNumber status finalReturn } } } } }`,
  createModel: `mutation($input: CreateModelInput!) { createModel(input: $input) { id } }`,
  startDaily: `mutation($modelId: ID!, $input: DailyRunInput!) { startDailyRun(modelId: $modelId, input: $input) { id } }`,
  run: `query($id: ID!) { run(id: $id) { id runNumber status error startDate endDate
    progress { current total message currentDate } totalTrades finalReturn finalPortfolioValue maxDrawdown
    performance { sharpeRatio } } }`,
  positions: `query($id: ID!, $after: String) { run(id: $id) { positions(first: 100, after: $after) {
    edges { node { id date action symbol amount price cash } } pageInfo { hasNextPage endCursor } } } }`,
  runEvents: `subscription($runId: ID!, $afterSeq: Int) { runEvents(runId: $runId, afterSeq: $afterSeq) {
    seq kind status message progress { current total message currentDate }
    position { id date action symbol amount price cash } } }`,
  conversations: `query($modelId: ID) { conversations(modelId: $modelId, first: 50) { edges { node { id title updatedAt } } } }`,
  createConversation: `mutation($modelId: ID) { createConversation(modelId: $modelId) { id title } }`,
  conversation: `query($id: ID!) { conversation(id: $id) { id title
    messages(last: 50) { edges { node { id role content createdAt } } } } }`,
  send: `mutation($id: ID!, $content: String!) { sendMessage(conversationId: $id, content: $content) { id role content createdAt } }`,
  chatEvents: `subscription($conversationId: ID!, $afterSeq: Int) { chatEvents(conversationId: $conversationId, afterSeq: $afterSeq) {
    seq kind token tool title error message { id role content createdAt } } }`,
};
const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED"]);
const TOKEN_KEY = "aibt.token";

const $ = (selector) => document.querySelector(selector);
const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat(undefined, { style: "percent", minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** Creates an element: h("td", {className: "num"}, "12"). */
function h(tag, props = {}, ...children) {
  const el = Object.assign(document.createElement(tag), props);
  for (const child of children) if (child != null) el.append(child);
  return el;
}

function showError(id, error) {
  $(id).textContent = error ? describeError(error) : "";
  if (error && error.code === "UNAUTHENTICATED" && state.token) signOut({ silent: true, message: describeError(error) });
}

async function busy(form, work) {
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    return await work();
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

const state = {
  token: localStorage.getItem(TOKEN_KEY),
  user: null,
  ws: null,
  models: [],
  model: null,
  run: { id: null, stop: null, trades: new Set() },
  chat: { id: null, stop: null, known: new Set(), awaiting: false, pending: null },
};

const api = (query, variables) => request(query, variables, state.token);

// ---- Session ------------------------------------------------------------------------------------

let signingUp = false;

function setAuthMode(up) {
  signingUp = up;
  $("#auth-title").textContent = up ? "Create an account" : "Sign in";
  $("#auth-submit").textContent = up ? "Create account" : "Sign in";
  $("#auth-toggle").textContent = up ? "Have an account? Sign in" : "New here? Create an account";
  $("#display-name-field").hidden = !up;
  $("#auth-form").password.autocomplete = up ? "new-password" : "current-password";
  showError("#auth-error", null);
}

async function submitAuth(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email || !password) {
    $("#auth-error").textContent = "Please enter your email and password.";
    return;
  }
  await busy(form, async () => {
    try {
      const data = signingUp
        ? (await request(Q.signup, { email, password, displayName: form.displayName.value.trim() || null })).signup
        : (await request(Q.login, { email, password })).login;
      form.reset();
      await signedIn(data.token, data.user);
    } catch (error) {
      showError("#auth-error", error);
    }
  });
}

async function signedIn(token, user) {
  state.token = token;
  state.user = user;
  localStorage.setItem(TOKEN_KEY, token);
  state.ws = new SubscriptionClient({
    url: websocketURL(),
    connectionParams: () => ({ authorization: `Bearer ${state.token}` }),
    onState: (status, detail) => {
      const el = $("#live-state");
      el.textContent = { open: "live", connecting: "connecting…", reconnecting: "reconnecting…", closed: "offline" }[status];
      el.dataset.state = status;
      el.title = detail || "";
      el.hidden = status === "closed" && !detail; // idle: no live view open
    },
  });
  $("#session-email").textContent = user.displayName ? `${user.displayName} (${user.email})` : user.email;
  $("#session").hidden = false;
  $("#auth").hidden = true;
  $("#workspace").hidden = false;
  await Promise.all([loadAiModels(), loadModels()]);
}

async function signOut({ silent = false, message = "" } = {}) {
  if (!silent && state.token) {
    try { await api(Q.logout); } catch { /* the token is dropped either way */ }
  }
  stopRun();
  stopChat();
  if (state.ws) state.ws.dispose();
  Object.assign(state, { token: null, user: null, ws: null, models: [], model: null });
  localStorage.removeItem(TOKEN_KEY);
  $("#session").hidden = true;
  $("#workspace").hidden = true;
  $("#model-detail").hidden = true;
  $("#auth").hidden = false;
  setAuthMode(false);
  $("#auth-error").textContent = message;
}

// ---- Models -------------------------------------------------------------------------------------

async function loadAiModels() {
  try {
    const { aiModels } = await api(Q.aiModels);
    const select = $("#model-form").aiModel;
    select.replaceChildren(...aiModels.map((m) =>
      h("option", { value: m.id, textContent: m.local ? `${m.id} (local)` : m.id, title: m.description || "" })));
  } catch (error) {
    showError("#model-error", error);
  }
}

async function loadModels() {
  try {
    const { models } = await api(Q.models);
    state.models = models.edges.map((e) => e.node);
    renderModels();
  } catch (error) {
    showError("#model-error", error);
  }
}

function runCell(run) {
  if (!run) return "—";
  const text = `#${run.runNumber} ${run.status.toLowerCase()}`;
  return run.finalReturn == null ? text : `${text}, ${percent.format(run.finalReturn)}`;
}

function renderModels() {
  const rows = state.models.map((m) => {
    const open = h("button", { type: "button", className: "secondary", textContent: "Open" });
    open.setAttribute("aria-label", `Open ${m.name}`);
    open.addEventListener("click", () => selectModel(m.id));
    const row = h("tr", {}, h("th", { scope: "row", textContent: m.name }), h("td", { textContent: m.aiModel }),
      h("td", { textContent: m.allowedTickers.join(", ") }), h("td", { textContent: runCell(m.latestRun) }), h("td", {}, open));
    if (state.model && state.model.id === m.id) row.setAttribute("aria-current", "true");
    return row;
  });
  $("#model-table tbody").replaceChildren(...rows);
  $("#model-table").hidden = rows.length === 0;
  $("#no-models").hidden = rows.length > 0;
  $("#new-model").open ||= rows.length === 0;
}

async function submitModel(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const tickers = form.tickers.value.split(/[\s,;]+/).map((t) => t.trim().toUpperCase()).filter(Boolean);
  const input = {
    name: form.name.value.trim(), allowedTickers: tickers, aiModel: form.aiModel.value,
    initialCash: Number(form.initialCash.value), customRules: form.customRules.value.trim() || null,
  };
  await busy(form, async () => {
    try {
      const { createModel } = await api(Q.createModel, { input });
      showError("#model-error", null);
      form.reset();
      $("#new-model").open = false;
      await loadModels();
      await selectModel(createModel.id);
    } catch (error) {
      showError("#model-error", error);
    }
  });
}

async function selectModel(id) {
  state.model = state.models.find((m) => m.id === id) || null;
  renderModels();
  if (!state.model) return;
  $("#model-detail").hidden = false;
  $("#run-model-name").textContent = `· ${state.model.name}`;
  $("#chat-title").textContent = `Analyst · ${state.model.name}`;
  showError("#run-error", null);
  showError("#chat-error", null);
  stopRun();
  $("#run-view").hidden = true;
  if (state.model.latestRun) await showRun(state.model.latestRun.id);
  await loadConversations();
}

// ---- Runs ---------------------------------------------------------------------------------------

function stopRun() {
  if (state.run.stop) state.run.stop();
  state.run = { id: null, stop: null, trades: new Set() };
}

async function submitRun(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const input = { startDate: form.startDate.value, endDate: form.endDate.value, maxSteps: Number(form.maxSteps.value) };
  if (!input.startDate || !input.endDate) {
    $("#run-error").textContent = "Please choose a start and an end date.";
    return;
  }
  await busy(form, async () => {
    try {
      const { startDailyRun } = await api(Q.startDaily, { modelId: state.model.id, input });
      showError("#run-error", null);
      await showRun(startDailyRun.id);
    } catch (error) {
      showError("#run-error", error);
    }
  });
}

/** Shows a run as stored, then follows its events while it is active. */
async function showRun(runId) {
  stopRun();
  state.run.id = runId;
  $("#trades tbody").replaceChildren();
  $("#run-summary").hidden = true;
  $("#run-view").hidden = false;
  try {
    const { run } = await api(Q.run, { id: runId });
    if (state.run.id !== runId) return;
    $("#run-number").textContent = `Run #${run.runNumber}: ${run.startDate} to ${run.endDate}`;
    const form = $("#run-form");
    if (!form.startDate.value && !form.endDate.value) { // offer the same period for the next run
      form.startDate.value = run.startDate || "";
      form.endDate.value = run.endDate || "";
    }
    renderStatus(run.status, run.error);
    renderProgress(run.progress);
    if (TERMINAL.has(run.status)) {
      await loadTrades(runId);
      renderSummary(run);
    } else {
      followRun(runId); // replays the events so far, trades included
    }
  } catch (error) {
    showError("#run-error", error);
  }
}

function followRun(runId) {
  state.run.stop = followEvents(state.ws, {
    query: Q.runEvents, field: "runEvents", variables: { runId },
    onEvent: (event) => {
      if (state.run.id !== runId) return;
      renderStatus(event.status, event.kind === "FAILED" ? event.message : null);
      if (event.progress) renderProgress(event.progress);
      if (event.message && event.kind !== "TRADE") $("#run-message").textContent = event.message;
      if (event.kind === "TRADE" && event.position) addTrade(event.position);
      if (TERMINAL.has(event.kind)) finishRun(runId);
    },
    onError: (error) => showError("#run-error", error),
    onComplete: () => finishRun(runId),
  });
}

async function finishRun(runId) {
  if (state.run.id !== runId || state.run.finished) return;
  state.run.finished = true;
  try {
    const { run } = await api(Q.run, { id: runId });
    if (state.run.id !== runId) return;
    renderStatus(run.status, run.error);
    renderProgress(run.progress);
    await loadTrades(runId);
    renderSummary(run);
    await loadModels();
  } catch (error) {
    showError("#run-error", error);
  }
}

/** Adds the run's stored trades (positions, page by page; no-trade rows are skipped). */
async function loadTrades(runId) {
  let after = null;
  for (let page = 0; page < 50; page += 1) {
    const { run } = await api(Q.positions, { id: runId, after });
    if (state.run.id !== runId) return;
    for (const edge of run.positions.edges) addTrade(edge.node);
    if (!run.positions.pageInfo.hasNextPage) return;
    after = run.positions.pageInfo.endCursor;
  }
}

function renderStatus(status, error) {
  const badge = $("#run-status");
  badge.textContent = status;
  badge.dataset.status = status;
  if (error) $("#run-error").textContent = `The run failed: ${error}`;
}

function renderProgress(progress) {
  const bar = $("#run-progress");
  bar.max = Math.max(progress.total, 1);
  bar.value = progress.current;
  const date = progress.currentDate ? ` · ${progress.currentDate}` : "";
  $("#run-progress-text").textContent = `${progress.current} / ${progress.total} days${date}`;
}

function addTrade(position) {
  if (position.action === "NO_TRADE" || state.run.trades.has(position.id)) return;
  state.run.trades.add(position.id);
  const row = h("tr", {},
    h("td", { textContent: position.date }),
    h("td", {}, h("span", { className: `action ${position.action.toLowerCase()}`, textContent: position.action })),
    h("td", { textContent: position.symbol }),
    h("td", { className: "num", textContent: position.amount }),
    h("td", { className: "num", textContent: money.format(position.price) }),
    h("td", { className: "num", textContent: money.format(position.cash) }));
  $("#trades tbody").append(row);
  $("#no-trades").hidden = true;
}

function renderSummary(run) {
  $("#no-trades").hidden = state.run.trades.size > 0;
  $("#no-trades").textContent = "This run made no trades.";
  if (run.finalPortfolioValue == null) return;
  const items = [
    ["Final value", money.format(run.finalPortfolioValue)],
    ["Return", percent.format(run.finalReturn)],
    ["Max drawdown", percent.format(run.maxDrawdown || 0)],
    ["Sharpe ratio", run.performance && run.performance.sharpeRatio != null ? run.performance.sharpeRatio.toFixed(2) : "—"],
    ["Trades", String(run.totalTrades)],
  ];
  $("#run-summary").replaceChildren(...items.flatMap(([term, value]) =>
    [h("div", {}, h("dt", { textContent: term }), h("dd", { textContent: value }))]));
  $("#run-summary").hidden = false;
}

// ---- Chat ---------------------------------------------------------------------------------------

function stopChat() {
  if (state.chat.stop) state.chat.stop();
  state.chat = { id: null, stop: null, known: new Set(), awaiting: false, pending: null };
}

async function loadConversations(selectId = null) {
  try {
    const { conversations } = await api(Q.conversations, { modelId: state.model.id });
    const select = $("#conversation-select");
    select.replaceChildren(h("option", { value: "", textContent: "Choose a conversation" }),
      ...conversations.edges.map((e) => h("option", { value: e.node.id, textContent: e.node.title })));
    select.value = selectId || "";
    if (!selectId) {
      stopChat();
      $("#conversation").hidden = true;
    }
  } catch (error) {
    showError("#chat-error", error);
  }
}

async function newConversation() {
  try {
    const { createConversation } = await api(Q.createConversation, { modelId: state.model.id });
    showError("#chat-error", null);
    await loadConversations(createConversation.id);
    await openConversation(createConversation.id);
    $("#message-input").focus();
  } catch (error) {
    showError("#chat-error", error);
  }
}

/** Shows the stored messages, then listens for replies. The stream replays earlier replies first; those
 * are recognised by their message id and not shown twice. */
async function openConversation(id) {
  stopChat();
  if (!id) {
    $("#conversation").hidden = true;
    return;
  }
  state.chat.id = id;
  try {
    const { conversation } = await api(Q.conversation, { id });
    if (state.chat.id !== id) return;
    $("#conversation-title").textContent = conversation.title;
    $("#messages").replaceChildren(...conversation.messages.edges.map((e) => messageItem(e.node)));
    conversation.messages.edges.forEach((e) => state.chat.known.add(e.node.id));
    $("#conversation").hidden = false;
    state.chat.stop = followEvents(state.ws, {
      query: Q.chatEvents, field: "chatEvents", variables: { conversationId: id },
      onEvent: (event) => state.chat.id === id && onChatEvent(event),
      onError: (error) => showError("#chat-error", error),
    });
  } catch (error) {
    showError("#chat-error", error);
  }
}

function messageItem(message) {
  const who = { USER: "You", ASSISTANT: "Analyst", SYSTEM: "System" }[message.role];
  const item = h("li", { className: `message ${message.role.toLowerCase()}` },
    h("span", { className: "who", textContent: who }), h("div", { className: "text", textContent: message.content }));
  if (message.id) item.dataset.messageId = message.id;
  return item;
}

/** The reply being streamed: shown at once when the user is waiting for it, kept aside when replayed. */
function pendingReply() {
  if (!state.chat.pending) {
    const item = messageItem({ role: "ASSISTANT", content: "" });
    item.classList.add("streaming");
    item.setAttribute("aria-busy", "true");
    const note = h("p", { className: "tool muted" });
    item.append(note);
    state.chat.pending = { item, text: item.querySelector(".text"), note, shown: false };
  }
  const pending = state.chat.pending;
  if (state.chat.awaiting && !pending.shown) {
    pending.shown = true;
    $("#messages").append(pending.item);
  }
  return pending;
}

function onChatEvent(event) {
  const list = $("#messages");
  switch (event.kind) {
    case "TITLE": {
      $("#conversation-title").textContent = event.title;
      const option = $(`#conversation-select option[value="${CSS.escape(state.chat.id)}"]`);
      if (option) option.textContent = event.title;
      break;
    }
    case "TOKEN":
      pendingReply().text.textContent += event.token;
      break;
    case "TOOL_START":
      pendingReply().note.textContent = `Looking this up with ${event.tool}…`;
      break;
    case "TOOL_END":
      pendingReply().note.textContent = "";
      break;
    case "COMPLETE":
    case "ERROR": {
      const pending = state.chat.pending;
      state.chat.pending = null;
      const message = event.message;
      if (message && state.chat.known.has(message.id)) {
        if (pending && pending.shown) pending.item.remove();
        break; // a replayed reply, already on screen
      }
      const item = pending && pending.shown ? pending.item : null;
      if (message) {
        state.chat.known.add(message.id);
        const final = messageItem(message);
        if (item) item.replaceWith(final);
        else list.append(final);
      } else if (item && !item.querySelector(".text").textContent) {
        item.remove();
      } else if (item) {
        item.classList.remove("streaming");
        item.removeAttribute("aria-busy");
        item.querySelector(".tool").textContent = "";
      }
      if (event.kind === "ERROR" && state.chat.awaiting) {
        $("#chat-error").textContent = `The analyst could not answer: ${event.error || "unknown error"}`;
      }
      state.chat.awaiting = false;
      $("#send").disabled = false;
      break;
    }
    default:
      break;
  }
  list.scrollTop = list.scrollHeight;
}

async function submitMessage(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const content = form.content.value.trim();
  if (!content) {
    $("#chat-error").textContent = "Please write a message first.";
    return;
  }
  $("#send").disabled = true;
  const mine = messageItem({ role: "USER", content });
  $("#messages").append(mine); // shown at once, so the reply always comes after it
  state.chat.awaiting = true;
  try {
    const { sendMessage } = await api(Q.send, { id: state.chat.id, content });
    showError("#chat-error", null);
    state.chat.known.add(sendMessage.id);
    mine.dataset.messageId = sendMessage.id;
    form.reset();
    if (state.chat.awaiting) pendingReply(); // an empty reply with a cursor until the first token
  } catch (error) {
    mine.remove();
    state.chat.awaiting = false;
    $("#send").disabled = false;
    showError("#chat-error", error);
  }
}

// ---- Start --------------------------------------------------------------------------------------

$("#auth-form").addEventListener("submit", submitAuth);
$("#auth-toggle").addEventListener("click", () => setAuthMode(!signingUp));
$("#sign-out").addEventListener("click", () => signOut());
$("#model-form").addEventListener("submit", submitModel);
$("#run-form").addEventListener("submit", submitRun);
$("#new-conversation").addEventListener("click", newConversation);
$("#conversation-select").addEventListener("change", (e) => openConversation(e.target.value));
$("#message-form").addEventListener("submit", submitMessage);
$("#message-input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    $("#message-form").requestSubmit();
  }
});

(async function restore() {
  if (!state.token) return;
  try {
    const { me } = await api(Q.me);
    if (me) await signedIn(state.token, me);
    else signOut({ silent: true, message: "Your session has ended; please sign in again." });
  } catch (error) {
    signOut({ silent: true, message: describeError(error) });
  }
})();
