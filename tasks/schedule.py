"""The steps a run takes: trading days of a daily backtest, decision bars of an intraday session.

Each step has a clock (the bar whose open the agent may see, or the decision bar) and the close at
which the portfolio is valued for the equity curve. Only bars with a close can be valued, so a day
whose bar carries only its open (the newest bar of a data file) is not a step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise

from db_models.market import EXCHANGE_TZ, PriceBar, PriceInterval
from db_models.runs import IntradaySession

SESSION_HOURS: dict[IntradaySession, tuple[dt.time, dt.time]] = {
    IntradaySession.PRE: (dt.time(4, 0), dt.time(9, 30)),
    IntradaySession.REGULAR: (dt.time(9, 30), dt.time(16, 0)),
    IntradaySession.AFTER: (dt.time(16, 0), dt.time(20, 0)),
}


@dataclass(frozen=True)
class Step:
    day: dt.date
    clock_at: dt.datetime  # the run's clock during this step
    valued_at: dt.datetime  # the bar whose close values the portfolio after this step


async def daily_steps(tickers: list[str], start: dt.date, end: dt.date) -> list[Step]:
    """Every date in [start, end] on which an allowed ticker has a complete daily bar."""
    rows = await (
        PriceBar.filter(
            symbol__in=tickers,
            interval=PriceInterval.DAY,
            trade_date__gte=start,
            trade_date__lte=end,
            close__isnull=False,
        )
        .order_by("trade_date")
        .values_list("trade_date", "timestamp")
    )
    first_bar: dict[dt.date, dt.datetime] = {}
    for day, timestamp in rows:
        first_bar[day] = min(timestamp, first_bar.get(day, timestamp))
    return [Step(day, timestamp, timestamp) for day, timestamp in sorted(first_bar.items())]


def _in_session(timestamp: dt.datetime, session: IntradaySession) -> bool:
    start, end = SESSION_HOURS[session]
    return start <= timestamp.astimezone(EXCHANGE_TZ).time() < end


async def intraday_interval(symbol: str, day: dt.date) -> PriceInterval | None:
    """The finest interval with bars of this symbol on this day."""
    for interval in (PriceInterval.MINUTE, PriceInterval.HOUR):
        if await PriceBar.exists(symbol=symbol, interval=interval, trade_date=day, close__isnull=False):
            return interval
    return None


async def intraday_steps(symbol: str, day: dt.date, session: IntradaySession, interval: PriceInterval) -> list[Step]:
    """Each bar but the last is a decision bar; orders fill at the next bar's open, valued at its close."""
    rows = await (
        PriceBar.filter(symbol=symbol, interval=interval, trade_date=day, close__isnull=False)
        .order_by("timestamp")
        .values_list("timestamp", flat=True)
    )
    bars = [t for t in rows if _in_session(t, session)]
    return [Step(day, decision, following) for decision, following in pairwise(bars)]


async def closes_at(symbols: list[str], interval: PriceInterval, timestamp: dt.datetime, day: dt.date) -> dict:
    """Closing prices used to value holdings after a step: the day's bars (daily) or the valuation bar."""
    query = PriceBar.filter(symbol__in=symbols, interval=interval, close__isnull=False)
    query = query.filter(trade_date=day) if interval == PriceInterval.DAY else query.filter(timestamp=timestamp)
    return {symbol: close for symbol, close in await query.values_list("symbol", "close")}


async def opens_at(symbols: list[str], interval: PriceInterval, timestamp: dt.datetime, day: dt.date) -> dict:
    """Opening prices at a step's open, where its splits pay their fractional shares: the day's bars (daily) or
    the bars starting at `timestamp` (intraday), else the symbol's daily bar of that day."""
    query = PriceBar.filter(symbol__in=symbols, interval=interval)
    query = query.filter(trade_date=day) if interval == PriceInterval.DAY else query.filter(timestamp=timestamp)
    opens = {symbol: price for symbol, price in await query.values_list("symbol", "open")}
    missing = [s for s in symbols if s not in opens]
    if missing and interval != PriceInterval.DAY:
        daily = PriceBar.filter(symbol__in=missing, interval=PriceInterval.DAY, trade_date=day)
        opens.update({symbol: price for symbol, price in await daily.values_list("symbol", "open")})
    return opens
