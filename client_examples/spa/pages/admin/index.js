// /admin/:section: the admin pages, one module each. A new admin page is one entry in SECTIONS.

import { h } from "../../lib/dom.js";

const SECTIONS = {
  users: ["Users", () => import("./users.js")],
  models: ["All models", () => import("./models.js")],
  leaderboard: ["Leaderboard", () => import("./leaderboard.js")],
  system: ["System", () => import("./system.js")],
  "chat-settings": ["Chat settings", () => import("./chat_settings.js")],
  "price-fetches": ["Price fetches", () => import("./price_fetches.js")],
};

export async function render(view, context) {
  const name = context.params.section;
  const entry = SECTIONS[name];
  const nav = h("nav", { class: "subnav", "aria-label": "Admin pages" },
    Object.entries(SECTIONS).map(([key, [text]]) => h("a", { href: `/app/admin/${key}`, "aria-current": key === name ? "page" : null }, text)));
  const body = h("div", { class: "stack" });
  view.append(h("h1", { tabindex: -1 }, entry ? `Admin: ${entry[0]}` : "Admin"), nav, body);
  if (!entry) {
    body.append(h("p", {}, "There is no such admin page."));
    return;
  }
  const page = await entry[1]();
  await page.render(body, context);
}
