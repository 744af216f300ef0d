// A URL that names no page.

import { h, link } from "../lib/dom.js";

export function render(view) {
  view.append(h("section", { class: "card" },
    h("h1", { tabindex: -1 }, "Page not found"),
    h("p", {}, "Nothing lives at this address. ", link("/models", "Go to your models"), ".")));
}
