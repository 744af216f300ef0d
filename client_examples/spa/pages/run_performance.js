// The run's performance figures, once it has any.

import { facts, h, section } from "../lib/dom.js";
import { decimal, integer, money, percent, signedPercent } from "../lib/format.js";

export function performanceSection() {
  const body = h("div");
  return {
    element: section("Performance", body),
    update(run) {
      const p = run.performance;
      if (!p) {
        body.replaceChildren(h("p", { class: "muted" }, "Figures appear once the run has traded through its first day."));
        return;
      }
      body.replaceChildren(facts([
        ["Initial value", money(p.initialValue)],
        ["Final value", money(p.finalValue)],
        ["Total return", signedPercent(p.totalReturn)],
        ["Annualized return", signedPercent(p.annualizedReturn)],
        ["Volatility", percent(p.volatility)],
        ["Sharpe ratio", decimal(p.sharpeRatio)],
        ["Sortino ratio", decimal(p.sortinoRatio)],
        ["Max drawdown", percent(p.maxDrawdown)],
        ["Win rate", percent(p.winRate)],
        ["Trades", integer(p.totalTrades)],
        ["Trading days", integer(p.tradingDays)],
        ["Fees paid", money(p.totalFees)],
        ["Dividends received", money(p.totalDividends)],
      ], "facts figures"));
    },
  };
}
