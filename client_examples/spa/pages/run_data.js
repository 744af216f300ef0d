// What the run page reads of a run, in one query; every section of the page takes from it. And how a
// position (a trade, a step, a split or a dividend) is named and described wherever it shows.

import { decimal, money } from "../lib/format.js";

export const RUN_FIELDS = `id runNumber mode status error createdAt startedAt endedAt startDate endDate symbol date session
  maxSteps totalTrades finalReturn finalPortfolioValue maxDrawdown usedExternalTools strategySnapshot
  model { id name }
  progress { current total message currentDate }
  usage { llmCalls inputTokens outputTokens }
  costs { commissionFixed commissionBps commissionMinimum slippageBps maxPositionWeight }
  performance { initialValue finalValue totalReturn annualizedReturn volatility sharpeRatio sortinoRatio maxDrawdown
    winRate totalTrades tradingDays totalFees totalDividends }
  equityCurve { date timestamp value cash }
  benchmarkSymbol arena { id name }
  benchmarks { kind label symbols equityCurve { date timestamp value } performance { totalReturn sharpeRatio maxDrawdown } }
  relative { benchmarkKind benchmarkLabel excessReturn beta alpha trackingError informationRatio correlation }`;

/** What a position is called in tables and on the chart; kinds the API adds later fall back to their name. */
export const ACTION_LABELS = { BUY: "Buy", SELL: "Sell", NO_TRADE: "No trade", SPLIT: "Split", DIVIDEND: "Dividend" };

export function actionLabel(action) {
  return ACTION_LABELS[action] || action.charAt(0) + action.slice(1).toLowerCase().replaceAll("_", " ");
}

/** Actions that trade shares, drawn as triangles on the curve. */
export const TRADE_ACTIONS = new Set(["BUY", "SELL"]);
/** Splits and dividends, applied at their ex-date's open; drawn as dots on the curve. */
export const CORPORATE_ACTIONS = new Set(["SPLIT", "DIVIDEND"]);

/** A split's ratio as people say it: 1.5 -> "3-for-2", 0.25 -> "1-for-4". */
export function splitRatio(ratio) {
  for (let below = 1; below <= 1000; below += 1) {
    const above = ratio * below;
    if (Math.abs(above - Math.round(above)) < 1e-6) return `${Math.round(above)}-for-${below}`;
  }
  return `${decimal(ratio)}-for-1`;
}

/** The price column: a trade's fill, a split's ratio, a dividend's cash per share. */
export function priceText(position) {
  if (position.price == null) return "—";
  if (position.action === "SPLIT") return splitRatio(position.price);
  if (position.action === "DIVIDEND") return `${money(position.price)} a share`;
  return money(position.price);
}

/** One sentence for a marker or a list: "Dividend of 0.37 a share on 50 LKAH on 2025-01-07". */
export function describePosition(p) {
  if (p.action === "SPLIT") return `Split ${splitRatio(p.price)} of ${p.symbol}: ${p.amount} shares held on ${p.date}`;
  if (p.action === "DIVIDEND") return `Dividend of ${money(p.price)} a share on ${p.amount} ${p.symbol} on ${p.date}`;
  const fee = p.fee ? `, fee ${money(p.fee)}` : "";
  return `${actionLabel(p.action)} ${p.amount} ${p.symbol} at ${money(p.price)} on ${p.date}${fee}`;
}
