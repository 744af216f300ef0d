// /chat and /chat/:id: the analyst. Conversations in a sidebar, the chosen one beside it.

import { h } from "../lib/dom.js";
import { openConversation } from "./chat_conversation.js";
import { conversationSidebar } from "./chat_sidebar.js";

export async function render(view, context) {
  const { params, query, onLeave } = context;
  const pane = h("section", { class: "conversation card", "aria-label": "Conversation" });
  const layout = h("div", { class: params.id ? "chat-layout open" : "chat-layout" });
  view.append(h("h1", { tabindex: -1 }, "Analyst"), layout);

  let sidebar = null;
  let scope = query.get("model") || "";
  if (params.id) {
    pane.append(h("p", { class: "muted", role: "status" }, "Opening the conversation…"));
    const conversation = await openConversation(pane, params.id, { ...context, onChange: () => sidebar && sidebar.refresh() });
    if (conversation) scope = conversation.model ? conversation.model.id : "";
  } else {
    pane.append(h("h2", {}, "Ask about your models and runs"),
      h("p", { class: "muted" }, "Choose a conversation, or start a new one: the analyst reads your models, runs, trades and reasoning logs to answer."));
  }
  sidebar = await conversationSidebar({ selectedId: params.id || null, scope, query, setQuery: context.setQuery });
  onLeave(sidebar.dispose);
  layout.append(sidebar.element, pane);
}
