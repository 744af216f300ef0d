"""The price MCP server: quotes, history, indicators and corporate actions, only as far as the run's clock allows."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from typing import Any

from mcp.server.fastmcp import Context, FastMCP

from db_models.corporate_actions import Action, actions_between
from db_models.market import PriceInterval
from tools.market_view import MAX_BARS, BarView, MarketView, action_as_dict, parse_symbol
from tools.run_context import ToolRefusal, add_tools, current_run

MAX_SYMBOLS = 50  # tickers in one quote or indicators call


def _interval(raw: str | None, view: MarketView) -> PriceInterval:
    if raw is None or raw == "":
        return view.interval
    try:
        return PriceInterval(raw.strip().upper())
    except ValueError:
        raise ToolRefusal("interval must be DAY, HOUR or MINUTE.") from None


def _date(raw: str | None, name: str) -> dt.date | None:
    if raw is None or raw == "":
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise ToolRefusal(f"{name} {raw!r} is not a date in YYYY-MM-DD form.") from None


def _until(raw: str | None) -> dt.date | None:
    return _date(raw, "end_date")


def _since(raw: str | None) -> dt.date | None:
    return _date(raw, "start_date")


async def _view(ctx: Context) -> MarketView:
    return MarketView(await current_run(ctx))


def _tickers(symbol: str | None, symbols: list[str] | None) -> list[str]:
    """The tickers a call names, in order and each once: `symbol`, then `symbols`."""
    named = ([symbol] if symbol else []) + list(symbols or [])
    if not named:
        raise ToolRefusal('Name a ticker: symbol (e.g. "AAPL") or symbols (e.g. ["AAPL", "MSFT"]).')
    if len(named) > MAX_SYMBOLS:
        raise ToolRefusal(f"At most {MAX_SYMBOLS} symbols in one call; got {len(named)}.")
    return list(dict.fromkeys(parse_symbol(raw) for raw in named))


def _one_or_each(
    symbols: list[str] | None, key: str, answers: dict[str, dict[str, Any] | ToolRefusal]
) -> dict[str, Any]:
    """One symbol asked as `symbol`: its answer (a refusal refuses the call). Asked as `symbols`: every answer
    listed under `key`, a symbol's refusal in its entry so the others still answer."""
    if not symbols:
        (answer,) = answers.values()
        if isinstance(answer, ToolRefusal):
            raise answer
        return answer
    return {
        key: [
            {"symbol": ticker, "refused": str(answer)} if isinstance(answer, ToolRefusal) else answer
            for ticker, answer in answers.items()
        ]
    }


async def quote(ctx: Context, symbol: str | None = None, symbols: list[str] | None = None) -> dict[str, Any]:
    """The price of a ticker now, as far as this run may know it; several tickers in one call with `symbols`.

    Daily runs: today's opening price (buy and sell orders fill at it) and the previous close.
    Intraday runs: the last completed bar's close (orders fill at the next bar's open).
    A split or dividend whose ex-date is today is listed: prices before today are not adjusted for it.
    symbol: a ticker such as AAPL.
    symbols: several tickers, e.g. ["AAPL", "MSFT"] (at most 50): the answer lists each one's quote under
    "quotes", in the order asked; a ticker without a price shows why under "refused".
    """
    view = await _view(ctx)
    tickers = _tickers(symbol, symbols)
    # Two independent reads: their round trips overlap.
    bars, actions = await asyncio.gather(
        view.bars_of(tickers, view.interval, 2), actions_between(tickers, view.today, view.today)
    )
    answers = {ticker: _quote_of(ticker, bars[ticker], actions) for ticker in tickers}
    return _one_or_each(symbols, "quotes", answers)


def _quote_of(ticker: str, bars: list[BarView], actions_today: list[Action]) -> dict[str, Any] | ToolRefusal:
    if not bars:
        return ToolRefusal(f"No price data for {ticker} up to now.")
    latest = bars[-1]
    answer: dict[str, Any] = {"symbol": ticker, "as_of": latest.as_dict()["time"]}
    if latest.partial:
        answer["open_today"] = float(latest.open)
        answer["previous_close"] = float(bars[0].close) if len(bars) == 2 and bars[0].close is not None else None
    else:
        answer["last_close"] = float(latest.close)
    today = [action_as_dict(a) for a in actions_today if a.symbol == ticker]
    if today:
        answer["corporate_actions_today"] = today
    return answer


async def price_history(
    ctx: Context, symbol: str, bars: int = 20, interval: str | None = None, end_date: str | None = None
) -> dict[str, Any]:
    """Recent price bars of one ticker, oldest first, up to now and never later.

    symbol: a ticker such as AAPL.
    bars: how many of the latest bars to return (1 to 500, default 20).
    interval: DAY, HOUR or MINUTE; defaults to the bars this run trades on.
    end_date: optional YYYY-MM-DD to stop earlier; dates after today change nothing.
    Today's daily bar shows only its open: its high, low and close are not known yet.
    Prices are as traded, not adjusted: a split shows as a jump by its ratio on its ex-date and a
    dividend as a drop of about its amount. The splits and dividends within the bars' dates are listed.
    """
    view = await _view(ctx)
    ticker = parse_symbol(symbol)
    rows = await view.bars(ticker, _interval(interval, view), min(max(int(bars), 1), MAX_BARS), _until(end_date))
    actions = []
    if rows:
        within = await view.corporate_actions(ticker, since=rows[0].trade_date)
        actions = [action_as_dict(a) for a in within if a.ex_date <= rows[-1].trade_date]
    return {
        "symbol": ticker,
        "interval": _interval(interval, view).value,
        "bars": [b.as_dict() for b in rows],
        "corporate_actions": actions,
    }


async def corporate_actions(ctx: Context, symbol: str, start_date: str | None = None) -> dict[str, Any]:
    """Splits and cash dividends of one ticker up to today, oldest first; none after today is ever shown.

    symbol: a ticker such as AAPL.
    start_date: optional YYYY-MM-DD; only actions on or after it.
    A split (ratio = new shares per old share; 2 is 2-for-1, 0.1 is 1-for-10) and a dividend (cash per
    share) apply at the open of their ex-date, before your turn: your holdings and cash already include
    them. Prices are as traded, so a split shows in the prices as a jump on its ex-date.
    """
    view = await _view(ctx)
    ticker = parse_symbol(symbol)
    actions = await view.corporate_actions(ticker, since=_since(start_date))
    return {"symbol": ticker, "as_of": view.today.isoformat(), "actions": [action_as_dict(a) for a in actions]}


async def indicators(
    ctx: Context,
    symbol: str | None = None,
    short_window: int = 5,
    long_window: int = 20,
    symbols: list[str] | None = None,
) -> dict[str, Any]:
    """Moving averages and returns of a ticker's closes, from completed bars only; several tickers in one
    call with `symbols`.

    symbol: a ticker such as AAPL.
    short_window, long_window: moving-average lengths in bars (2 to 200, short < long).
    symbols: several tickers, e.g. ["AAPL", "MSFT"] (at most 50): the answer lists each one's indicators
    under "indicators", in the order asked; a ticker without enough bars shows why under "refused".
    Returns the last close, both simple moving averages, whether the short average is above the
    long one (and whether it crossed on the last bar), and 1-, 5- and 20-bar returns as fractions.
    """
    if not 2 <= short_window < long_window <= 200:
        raise ToolRefusal("Windows must satisfy 2 <= short_window < long_window <= 200.")
    view = await _view(ctx)
    tickers = _tickers(symbol, symbols)
    bars = await view.bars_of(tickers, view.interval, long_window + 21)
    answers = {ticker: _indicators_of(ticker, bars[ticker], short_window, long_window) for ticker in tickers}
    return _one_or_each(symbols, "indicators", answers)


def _indicators_of(
    ticker: str, bars: list[BarView], short_window: int, long_window: int
) -> dict[str, Any] | ToolRefusal:
    rows = [b for b in bars if not b.partial]
    closes = [float(b.close) for b in rows]
    if len(closes) < long_window + 1:
        return ToolRefusal(f"Only {len(closes)} completed bars of {ticker} so far; need {long_window + 1}.")
    short_ma, long_ma = _mean_of_last(closes, short_window), _mean_of_last(closes, long_window)
    above = short_ma > long_ma
    was_above = _mean_of_last(closes[:-1], short_window) > _mean_of_last(closes[:-1], long_window)
    returns = {f"return_{n}": closes[-1] / closes[-1 - n] - 1 if len(closes) > n else None for n in (1, 5, 20)}
    return {
        "symbol": ticker,
        "as_of": rows[-1].as_dict()["time"],
        "last_close": closes[-1],
        f"sma_{short_window}": short_ma,
        f"sma_{long_window}": long_ma,
        "short_above_long": above,
        "crossed_up": above and not was_above,
        "crossed_down": was_above and not above,
        **returns,
    }


def _mean_of_last(values: list[float], window: int) -> float:
    """The simple moving average at the last value; plain floats, as a pandas Series cost ~2 ms a call."""
    return math.fsum(values[-window:]) / window


def create_server() -> FastMCP:
    server = FastMCP("aibt-price")
    return add_tools(server, (quote, price_history, indicators, corporate_actions))
