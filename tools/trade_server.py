"""The trade MCP server: buy and sell whole shares at the run's fill price, and read the portfolio."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mcp.server.fastmcp import Context, FastMCP

from db_models.ledger import Portfolio, TradeRefused, apply_trade, current_portfolio
from db_models.runs import ActionType, Run
from tools.market_view import MarketView, parse_symbol
from tools.run_context import ToolRefusal, current_run, refusals_as_text


def _whole_shares(amount: float | int) -> int:
    if isinstance(amount, bool) or not float(amount).is_integer():
        raise ToolRefusal(f"amount must be a whole number of shares; got {amount}.")
    shares = int(amount)
    if shares <= 0:
        raise ToolRefusal(f"amount must be a positive number of shares; got {shares}.")
    return shares


def _allowed(run: Run) -> list[str]:
    return list(run.strategy_snapshot.get("allowed_tickers", []))


async def _portfolio_answer(view: MarketView, portfolio: Portfolio) -> dict[str, Any]:
    marks = {s: await view.mark_price(s) for s in portfolio.holdings}
    known = {s: p for s, p in marks.items() if p is not None}
    value = portfolio.cash + sum(Decimal(n) * known[s] for s, n in portfolio.holdings.items() if s in known)
    return {
        "cash": float(portfolio.cash),
        "holdings": dict(portfolio.holdings),
        "prices": {s: float(p) for s, p in known.items()},
        "value": float(value),
    }


async def _trade(ctx: Context, action: ActionType, symbol: str, amount: float | int) -> dict[str, Any]:
    run = await current_run(ctx)
    view = MarketView(run)
    ticker = parse_symbol(symbol)
    shares = _whole_shares(amount)
    if ticker not in _allowed(run):
        raise ToolRefusal(f"{ticker} is not one of this model's allowed tickers: {', '.join(_allowed(run))}.")
    fill = await view.fill(ticker)
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
        )
    except TradeRefused as refusal:
        raise ToolRefusal(str(refusal)) from None
    portfolio = Portfolio(cash=position.cash, holdings={s: n for s, n in position.holdings.items() if n})
    verb = "Bought" if action == ActionType.BUY else "Sold"
    return {
        "result": f"{verb} {shares} {ticker} at {fill.price:.2f}.",
        "price": float(fill.price),
        "filled_at": fill.timestamp.isoformat(),
        **await _portfolio_answer(view, portfolio),
    }


async def buy(ctx: Context, symbol: str, amount: float) -> dict[str, Any]:
    """Buy whole shares of an allowed ticker at the fill price (daily runs: today's open;
    intraday runs: the next bar's open). Needs enough cash: no margin.

    symbol: a ticker from the model's allowed tickers, e.g. AAPL.
    amount: the number of shares, a positive whole number.
    Returns the fill price, and the cash, holdings and portfolio value after the trade.
    """
    return await _trade(ctx, ActionType.BUY, symbol, amount)


async def sell(ctx: Context, symbol: str, amount: float) -> dict[str, Any]:
    """Sell whole shares you hold at the fill price (daily runs: today's open; intraday runs:
    the next bar's open). Long only: you cannot sell more than you hold.

    symbol: a ticker you hold, e.g. AAPL.
    amount: the number of shares, a positive whole number.
    Returns the fill price, and the cash, holdings and portfolio value after the trade.
    """
    return await _trade(ctx, ActionType.SELL, symbol, amount)


async def portfolio(ctx: Context) -> dict[str, Any]:
    """Your cash, the shares you hold, their latest known prices and the portfolio's value now."""
    run = await current_run(ctx)
    answer = await _portfolio_answer(MarketView(run), await current_portfolio(run))
    return {**answer, "allowed_tickers": _allowed(run)}


def create_server() -> FastMCP:
    server = FastMCP("aibt-trade")
    for tool in (buy, sell, portfolio):
        server.add_tool(refusals_as_text(tool))
    return server
