// The conversations sidebar: a scope (general, or one model's conversations, runs' included), search,
// the archived ones on request, and a new conversation in the chosen scope.

import { api } from "../lib/api.js";
import { h, uniqueId } from "../lib/dom.js";
import { dateTime } from "../lib/format.js";
import { select } from "../lib/forms.js";
import { navigate } from "../lib/navigation.js";
import { errorBox, showError } from "../lib/ui.js";

const PAGE_SIZE = 30;
const SEARCH_DELAY_MS = 300;
const MODELS = "{ models(first: 100) { edges { node { id name } } } }";
const LIST = `query($model: ID, $search: String, $archived: Boolean, $after: String) {
  conversations(modelId: $model, search: $search, archived: $archived, first: ${PAGE_SIZE}, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id title archived updatedAt messageCount run { runNumber } } } } }`;
const CREATE = "mutation($model: ID) { createConversation(modelId: $model) { id } }";

export async function conversationSidebar({ selectedId, scope, query, setQuery }) {
  const { models } = await api(MODELS);
  const problem = errorBox();
  const scopeId = uniqueId("scope");
  const searchId = uniqueId("search");
  const scopeSelect = select({ id: scopeId, name: "scope" },
    [["", "General"], ...models.edges.map(({ node }) => [node.id, `Model: ${node.name}`])], scope || "");
  const search = h("input", { id: searchId, type: "search", name: "q", value: query.get("q") || "", placeholder: "Title or message text" });
  const archived = h("input", { type: "checkbox", name: "archived", checked: query.get("archived") === "1" });
  const list = h("ul", { class: "conversation-list" });
  const more = h("button", { type: "button", class: "link", hidden: true }, "More conversations");
  const create = h("button", { type: "button" }, "New conversation");
  let after = null;
  let timer = null;

  function item(conversation) {
    const current = conversation.id === selectedId;
    const detail = [conversation.run ? `Run #${conversation.run.runNumber}` : null, `${conversation.messageCount} ${conversation.messageCount === 1 ? "message" : "messages"}`, dateTime(conversation.updatedAt)]
      .filter(Boolean).join(" · ");
    return h("li", {},
      h("a", { href: `/app/chat/${conversation.id}${location.search}`, "aria-current": current ? "page" : null },
        h("span", { class: "title" }, conversation.title), h("span", { class: "detail" }, detail)));
  }

  async function load(append = false) {
    if (!append) after = null;
    try {
      const variables = { model: scopeSelect.value || null, search: search.value.trim() || null, archived: archived.checked, after };
      const { conversations } = await api(LIST, variables);
      const items = conversations.edges.map((e) => item(e.node));
      if (append) list.append(...items);
      else list.replaceChildren(...(items.length ? items : [h("li", { class: "muted empty" }, archived.checked ? "No archived conversations." : "No conversations yet.")]));
      after = conversations.pageInfo.endCursor;
      more.hidden = !conversations.pageInfo.hasNextPage;
      showError(problem, null);
    } catch (error) {
      showError(problem, error);
    }
  }

  function filtersChanged() {
    setQuery({ model: scopeSelect.value, q: search.value.trim(), archived: archived.checked ? "1" : null });
    load();
  }
  scopeSelect.addEventListener("change", () => {
    if (selectedId) navigate(`/chat?model=${encodeURIComponent(scopeSelect.value)}`);
    else filtersChanged();
  });
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(filtersChanged, SEARCH_DELAY_MS);
  });
  archived.addEventListener("change", filtersChanged);
  more.addEventListener("click", () => load(true));
  create.addEventListener("click", async () => {
    try {
      const { createConversation } = await api(CREATE, { model: scopeSelect.value || null });
      navigate(`/chat/${createConversation.id}${scopeSelect.value ? `?model=${encodeURIComponent(scopeSelect.value)}` : ""}`);
    } catch (error) {
      showError(problem, error);
    }
  });

  const element = h("nav", { class: "chat-sidebar card", "aria-label": "Conversations" },
    h("div", { class: "field" }, h("label", { for: scopeId }, "Conversations about"), scopeSelect),
    h("div", { class: "field" }, h("label", { for: searchId }, "Search"), search),
    h("label", { class: "check" }, archived, " Show archived"),
    create, problem, list, more);
  await load();
  return { element, refresh: () => load(), dispose: () => clearTimeout(timer) };
}
