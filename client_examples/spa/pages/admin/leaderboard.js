// The best completed run of each model, ranked by total return.

import { api } from "../../lib/api.js";
import { h, section, table } from "../../lib/dom.js";
import { decimal, percent, signedPercent, tone } from "../../lib/format.js";
import { errorBox, showError } from "../../lib/ui.js";

const LEADERBOARD = `{ leaderboard(limit: 50) { rank totalReturn sharpeRatio maxDrawdown
  model { name aiModel } owner { email } run { runNumber startDate endDate mode } } }`;

export async function render(view) {
  const problem = errorBox();
  const body = h("div");
  view.append(section("Leaderboard", problem, body));
  try {
    const { leaderboard } = await api(LEADERBOARD);
    body.replaceChildren(leaderboard.length ? table("Best completed run of each model",
      [["Rank", "num"], ["Model"], ["Owner"], ["Run"], ["Return", "num"], ["Sharpe", "num"], ["Max drawdown", "num"]],
      leaderboard.map((entry) => h("tr", {},
        h("td", { class: "num" }, entry.rank),
        h("th", { scope: "row" }, entry.model.name, h("span", { class: "muted" }, ` ${entry.model.aiModel}`)),
        h("td", {}, entry.owner.email),
        h("td", {}, `#${entry.run.runNumber}`, entry.run.startDate ? ` ${entry.run.startDate} – ${entry.run.endDate}` : ""),
        h("td", { class: `num ${tone(entry.totalReturn)}` }, signedPercent(entry.totalReturn)),
        h("td", { class: "num" }, decimal(entry.sharpeRatio)),
        h("td", { class: "num" }, percent(entry.maxDrawdown)))))
      : h("p", { class: "empty" }, "No completed runs yet."));
  } catch (error) {
    showError(problem, error);
  }
}
