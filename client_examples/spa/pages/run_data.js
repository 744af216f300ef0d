// What the run page reads of a run, in one query; every section of the page takes from it.

export const RUN_FIELDS = `id runNumber mode status error createdAt startedAt endedAt startDate endDate symbol date session
  maxSteps totalTrades finalReturn finalPortfolioValue maxDrawdown
  model { id name }
  progress { current total message currentDate }
  usage { llmCalls inputTokens outputTokens }
  performance { initialValue finalValue totalReturn annualizedReturn volatility sharpeRatio sortinoRatio maxDrawdown
    winRate totalTrades tradingDays }
  equityCurve { date timestamp value cash }
  benchmarkSymbol arena { id name }
  benchmarks { kind label symbols equityCurve { date timestamp value } performance { totalReturn sharpeRatio maxDrawdown } }
  relative { benchmarkKind benchmarkLabel excessReturn beta alpha trackingError informationRatio correlation }`;

/** What a position is called in tables and on the chart; kinds the API adds later fall back to their name. */
export const ACTION_LABELS = { BUY: "Buy", SELL: "Sell", NO_TRADE: "No trade" };

export function actionLabel(action) {
  return ACTION_LABELS[action] || action.charAt(0) + action.slice(1).toLowerCase().replaceAll("_", " ");
}

/** Actions that trade shares, drawn as markers on the curve. */
export const TRADE_ACTIONS = new Set(["BUY", "SELL"]);
