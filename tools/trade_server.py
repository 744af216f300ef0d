"""The trade MCP server: buy and sell whole shares at the run's fill price and costs, and read the portfolio."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from mcp.server.fastmcp import Context, FastMCP

from db_models.costs import TradingCosts
from db_models.ledger import Portfolio, TradeRefused, apply_trade, current_portfolio_as_of
from db_models.market import EXCHANGE_TZ
from db_models.runs import CORPORATE_ACTIONS, ActionType, Position, Run
from tools.market_view import MarketView, parse_symbol
from tools.run_context import ToolRefusal, add_tools, current_run


def _whole_shares(amount: float | int) -> int:
    if isinstance(amount, bool) or not float(amount).is_integer():
        raise ToolRefusal(f"amount must be a whole number of shares; got {amount}.")
    shares = int(amount)
    if shares <= 0:
        raise ToolRefusal(f"amount must be a positive number of shares; got {shares}.")
    return shares


def _allowed(run: Run) -> list[str]:
    return list(run.strategy_snapshot.get("allowed_tickers", []))


def _costs(run: Run) -> TradingCosts:
    return TradingCosts.from_snapshot(run.strategy_snapshot.get("costs"))


def _costs_answer(costs: TradingCosts) -> dict[str, float | None]:
    return {key: None if value is None else float(value) for key, value in costs.to_snapshot().items()}


async def _actions_today(run: Run, view: MarketView, last_row_at: dt.datetime | None) -> list[dict[str, Any]]:
    """The splits and dividends applied to this run's holdings today, before its turn (never a later one).
    None can have been when the run's last row is from an earlier day: they are not read for."""
    day_start = dt.datetime.combine(view.today, dt.time(0), EXCHANGE_TZ)
    if last_row_at is None or last_row_at < day_start:
        return []
    rows = await Position.filter(
        run_id=run.id, action__in=CORPORATE_ACTIONS, timestamp__gte=day_start, timestamp__lte=view.clock_at
    ).order_by("action_id")
    return [
        {
            "action": str(row.action),
            "symbol": row.symbol,
            "ex_date": row.date.isoformat(),
            "shares_before": row.amount,
            ("ratio" if row.action == ActionType.SPLIT else "cash_per_share"): float(row.price),
            "holdings_after": row.holdings,
            "cash_after": float(row.cash),
        }
        for row in rows
    ]


async def _portfolio_answer(view: MarketView, portfolio: Portfolio) -> dict[str, Any]:
    known = await view.mark_prices(list(portfolio.holdings))
    value = portfolio.cash + sum(Decimal(n) * known[s] for s, n in portfolio.holdings.items() if s in known)
    return {
        "cash": float(portfolio.cash),
        "holdings": dict(portfolio.holdings),
        "prices": {s: float(p) for s, p in known.items()},
        "value": float(value),
    }


def _fill_words(verb: str, position: Position, market: Decimal, costs: TradingCosts) -> str:
    text = f"{verb} {position.amount} {position.symbol} at {position.price:.2f}"
    if costs.slippage_bps:
        text += f" (the market price {market:.2f} moved {costs.slippage_bps.normalize():f} bp against you)"
    if position.fee:
        text += f"; fee {position.fee:.2f}"
    return text + "."


async def _trade(ctx: Context, action: ActionType, symbol: str, amount: float | int) -> dict[str, Any]:
    run = await current_run(ctx)
    view = MarketView(run)
    ticker = parse_symbol(symbol)
    shares = _whole_shares(amount)
    if ticker not in _allowed(run):
        raise ToolRefusal(f"{ticker} is not one of this model's allowed tickers: {', '.join(_allowed(run))}.")
    fill = await view.fill(ticker)
    costs = _costs(run)
    # The cap weighs every holding at its price when the order fills; any allowed ticker may be held by then.
    marks = await view.fill_marks(_allowed(run)) if costs.max_position_weight is not None else None
    try:
        position = await apply_trade(
            run,
            action=action,
            symbol=ticker,
            amount=shares,
            price=fill.price,
            date=fill.trade_date,
            timestamp=fill.timestamp,
            allowed_tickers=_allowed(run),
            costs=costs,
            marks=marks,
        )
    except TradeRefused as refusal:
        raise ToolRefusal(str(refusal)) from None
    portfolio = Portfolio(cash=position.cash, holdings={s: n for s, n in position.holdings.items() if n})
    return {
        "result": _fill_words("Bought" if action == ActionType.BUY else "Sold", position, fill.price, costs),
        "price": float(position.price),
        "fee": float(position.fee),
        "filled_at": fill.timestamp.isoformat(),
        **await _portfolio_answer(view, portfolio),
    }


async def buy(ctx: Context, symbol: str, amount: float) -> dict[str, Any]:
    """Buy whole shares of an allowed ticker at the fill price (daily runs: today's open;
    intraday runs: the next bar's open). Needs enough cash for the shares and the fee: no margin.
    The model's costs apply (the portfolio tool lists them): the fill moves against you by the
    slippage, the commission is paid in cash, and a buy may not take one symbol above the maximum
    position weight of the portfolio's value.

    symbol: a ticker from the model's allowed tickers, e.g. AAPL.
    amount: the number of shares, a positive whole number.
    Returns the fill price, the fee, and the cash, holdings and portfolio value after the trade.
    """
    return await _trade(ctx, ActionType.BUY, symbol, amount)


async def sell(ctx: Context, symbol: str, amount: float) -> dict[str, Any]:
    """Sell whole shares you hold at the fill price (daily runs: today's open; intraday runs:
    the next bar's open). Long only: you cannot sell more than you hold. The fill moves against
    you by the model's slippage and the commission is paid from the proceeds.

    symbol: a ticker you hold, e.g. AAPL.
    amount: the number of shares, a positive whole number.
    Returns the fill price, the fee, and the cash, holdings and portfolio value after the trade.
    """
    return await _trade(ctx, ActionType.SELL, symbol, amount)


async def portfolio(ctx: Context) -> dict[str, Any]:
    """Your cash, the shares you hold, their latest known prices, the portfolio's value now, the
    trading costs of this model (commission, slippage, maximum position weight), and the splits and
    dividends applied to your holdings at today's open (holdings and cash already include them)."""
    run = await current_run(ctx)
    view = MarketView(run)
    portfolio, last_row_at = await current_portfolio_as_of(run)
    answer = await _portfolio_answer(view, portfolio)
    return {
        **answer,
        "allowed_tickers": _allowed(run),
        "costs": _costs_answer(_costs(run)),
        "corporate_actions_today": await _actions_today(run, view, last_row_at),
    }


def create_server() -> FastMCP:
    server = FastMCP("aibt-trade")
    return add_tools(server, (buy, sell, portfolio))
