// An admin page opened by a user who is not an admin.

import { h, link } from "../lib/dom.js";

export function render(view) {
  view.append(h("section", { class: "card" },
    h("h1", { tabindex: -1 }, "Admins only"),
    h("p", {}, "This page is for administrators. ", link("/models", "Go to your models"), ".")));
}
