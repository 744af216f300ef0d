// Every action of the run and the portfolio after it, a page at a time: trades with their fee, steps without
// one, and the splits and dividends applied at their ex-date's open. Labels come from run_data.js.

import { api } from "../lib/api.js";
import { h, section, table } from "../lib/dom.js";
import { holdings, integer, money } from "../lib/format.js";
import { cursorPager, errorBox, showError } from "../lib/ui.js";
import { actionLabel, priceText } from "./run_data.js";

const PAGE_SIZE = 20;
const POSITIONS = `query($id: ID!, $after: String) { run(id: $id) { positions(first: ${PAGE_SIZE}, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { node { id date timestamp action symbol amount price fee cash holdings } } } } }`;

function row(position, intraday) {
  const when = intraday ? `${position.date} ${position.timestamp.slice(11, 16)} UTC` : position.date;
  return h("tr", { dataset: { action: position.action } },
    h("td", {}, when),
    h("td", {}, h("span", { class: `action ${position.action.toLowerCase()}` }, actionLabel(position.action))),
    h("td", {}, position.symbol || "—"),
    h("td", { class: "num" }, integer(position.amount)),
    h("td", { class: "num" }, priceText(position)),
    h("td", { class: "num" }, position.fee ? money(position.fee) : "—"),
    h("td", { class: "num" }, money(position.cash)),
    h("td", {}, holdings(position.holdings)));
}

export function positionsSection(run) {
  const problem = errorBox();
  const body = h("div", { id: "positions" });
  const intraday = run.mode === "INTRADAY";
  let seen = null; // grows with each recorded step and trade: then the page is read again
  const pager = cursorPager({
    name: "positions",
    load: async (after) => (await api(POSITIONS, { id: run.id, after })).run.positions,
    show(connection) {
      body.replaceChildren(connection.edges.length
        ? table("Positions of this run", [["Date"], ["Action"], ["Symbol"], ["Shares", "num"], ["Price", "num"], ["Fee", "num"], ["Cash after", "num"],
          ["Holdings after"]],
          connection.edges.map((e) => row(e.node, intraday)))
        : h("p", { class: "empty" }, "No actions yet."));
    },
  });
  const reload = () => pager.reload().catch((error) => showError(problem, error));
  pager.first().catch((error) => showError(problem, error));
  return {
    element: section("Positions", problem, body, pager.nav),
    update(fresh) {
      const size = fresh.equityCurve.length + fresh.totalTrades;
      if (seen !== null && size !== seen) reload();
      seen = size;
    },
  };
}
