// How the system is: counts, and the health of the database, broker, pub/sub, tool servers and workers.

import { api } from "../../lib/api.js";
import { facts, h, section, table } from "../../lib/dom.js";
import { integer, label } from "../../lib/format.js";
import { errorBox, showError } from "../../lib/ui.js";

const SYSTEM = `{ systemStats { users models runs runsByStatus conversations messages }
  systemStatus { database broker pubsub workers queuedRuns runningRuns toolServers { name url healthy tools external } } }`;
const REFRESH_MS = 10_000;

function health(value) {
  return h("span", { class: `health ${value === "ok" ? "good" : "bad"}` }, value);
}

export async function render(view, { onLeave }) {
  const problem = errorBox();
  const stats = h("div");
  const status = h("div");
  const refresh = h("button", { type: "button", class: "secondary" }, "Refresh");
  view.append(section("Status", refresh, problem, status), section("Counts", stats));

  async function load() {
    try {
      const { systemStats: s, systemStatus: st } = await api(SYSTEM);
      status.replaceChildren(
        facts([["Database", health(st.database)], ["Broker", health(st.broker)], ["Pub/sub", health(st.pubsub)],
          ["Workers", integer(st.workers)], ["Queued runs", integer(st.queuedRuns)], ["Running runs", integer(st.runningRuns)]]),
        table("Tool servers", [["Tool server"], ["Kind"], ["Health"], ["Tools"], ["URL"]], st.toolServers.map((server) => h("tr", {},
          h("th", { scope: "row" }, server.name),
          h("td", {}, server.external ? "External (not bound to a run's dates)" : "Built in"),
          h("td", {}, health(server.healthy ? "ok" : "down")),
          h("td", {}, server.tools.join(", ") || "—"), h("td", { class: "muted" }, server.url)))));
      stats.replaceChildren(facts([["Users", integer(s.users)], ["Models", integer(s.models)], ["Runs", integer(s.runs)],
        ["Conversations", integer(s.conversations)], ["Messages", integer(s.messages)],
        ...Object.entries(s.runsByStatus || {}).map(([key, count]) => [`${label(key)} runs`, integer(count)])]));
      showError(problem, null);
    } catch (error) {
      showError(problem, error);
    }
  }
  refresh.addEventListener("click", load);
  const timer = setInterval(load, REFRESH_MS);
  onLeave(() => clearInterval(timer));
  await load();
}
