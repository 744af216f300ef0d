// Every user's models, with their owner and latest run.

import { api } from "../../lib/api.js";
import { h, section, table } from "../../lib/dom.js";
import { label, signedPercent, tone } from "../../lib/format.js";
import { cursorPager, errorBox, showError, statusBadge } from "../../lib/ui.js";

const MODELS = `query($after: String) { allModels(first: 25, after: $after) { totalCount pageInfo { hasNextPage endCursor }
  edges { node { id name aiModel allowedTickers isActive owner { email }
    latestRun { runNumber status finalReturn } } } } }`;

export async function render(view) {
  const problem = errorBox();
  const body = h("div");
  const pager = cursorPager({
    name: "all models",
    load: async (after) => (await api(MODELS, { after })).allModels,
    show(connection) {
      body.replaceChildren(connection.totalCount ? table("Every user's models",
        [["Model"], ["Owner"], ["AI model"], ["Tickers"], ["State"], ["Latest run"]],
        connection.edges.map(({ node }) => h("tr", {},
          h("th", { scope: "row" }, node.name),
          h("td", {}, node.owner.email),
          h("td", {}, node.aiModel),
          h("td", {}, node.allowedTickers.join(", ")),
          h("td", {}, node.isActive ? "Active" : "Inactive"),
          h("td", {}, node.latestRun
            ? [`#${node.latestRun.runNumber} `, statusBadge(node.latestRun.status), " ",
              h("span", { class: tone(node.latestRun.finalReturn) }, signedPercent(node.latestRun.finalReturn))]
            : label(null)))))
        : h("p", { class: "empty" }, "No models yet."));
    },
  });
  view.append(section("All models", problem, body, pager.nav));
  await pager.first().catch((error) => showError(problem, error));
}
