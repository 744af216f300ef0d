"""What to ask Alpha Vantage for one symbol: the calls that bring its missing, finished sessions in.

Daily bars come from one call (the newest 100 sessions with outputsize=compact, the whole history with
full, when the missing sessions reach further back); intraday bars from one call per month with missing
sessions (TIME_SERIES_INTRADAY with month=YYYY-MM); splits and dividends from SPLITS and DIVIDENDS, or from
the adjusted daily series' own columns. A symbol with nothing missing makes no call at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from db_models.market import EXCHANGE_TZ, PriceInterval
from db_models.price_fetch.coverage import known_sessions, newest_stored_date
from db_models.price_fetch.sessions import last_finished_session, sessions_back, sessions_between

COMPACT_SESSIONS = 100  # what outputsize=compact returns
COMPACT_MARGIN = 5  # sessions the provider may lack that the calendar counts (an unscheduled closure)
INTRADAY_NAMES = {PriceInterval.HOUR: "60min", PriceInterval.MINUTE: "1min"}
CallKind = Literal["daily", "intraday", "splits", "dividends"]


@dataclass(frozen=True)
class FetchRequest:
    """What the user asked for; a missing start or end is filled per symbol by the planner."""

    symbols: tuple[str, ...]
    interval: PriceInterval = PriceInterval.DAY
    start: dt.date | None = None
    end: dt.date | None = None
    actions: bool = True


@dataclass
class ProviderLimits:
    """What this fetch learned about the key: premium-only answers are not asked for twice."""

    adjusted: bool = False  # ask TIME_SERIES_DAILY_ADJUSTED (a premium key) for daily bars
    full_refused: bool = False  # outputsize=full came back as a premium feature


@dataclass(frozen=True)
class Call:
    kind: CallKind
    params: dict[str, str]
    label: str
    # The sessions this call answers for: bars are kept inside it, and it is recorded as covered.
    span: tuple[dt.date, dt.date] | None = None

    @property
    def function(self) -> str:
        return self.params["function"]


@dataclass(frozen=True)
class SymbolPlan:
    symbol: str
    interval: PriceInterval
    start: dt.date
    end: dt.date
    calls: list[Call] = field(default_factory=list)
    missing: int = 0  # finished sessions in start..end with neither a bar nor a provider's answer
    # Missing sessions older than the compact window when full history is not available to this key.
    unreachable_before: dt.date | None = None


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(EXCHANGE_TZ).date()


async def _default_start(symbol: str, interval: PriceInterval, end: dt.date) -> dt.date:
    """Bring a symbol up to date from its newest stored bar; with none, one compact window (daily) or month."""
    newest = await newest_stored_date(symbol, interval)
    if newest is not None and newest <= end:
        return newest
    if interval is PriceInterval.DAY:
        return sessions_back(end, COMPACT_SESSIONS - COMPACT_MARGIN)
    return end.replace(day=1)


async def plan_symbol(symbol: str, request: FetchRequest, limits: ProviderLimits, now: dt.datetime) -> SymbolPlan:
    interval = request.interval
    finished = last_finished_session(now, interval)
    end = min(request.end or _today(now), finished) if finished else request.end or _today(now)
    start = request.start or await _default_start(symbol, interval, end)
    if start > end:
        return SymbolPlan(symbol, interval, start, end)
    known = await known_sessions(symbol, interval, start, end)
    missing = [day for day in sessions_between(start, end) if day not in known]
    if not missing:
        return SymbolPlan(symbol, interval, start, end)
    if interval is PriceInterval.DAY:
        plan = _daily_plan(symbol, start, end, missing, limits, now)
    else:
        plan = _intraday_plan(symbol, interval, start, end, missing)
    if request.actions and not (interval is PriceInterval.DAY and limits.adjusted):
        plan.calls.extend(_action_calls(symbol))
    return plan


def _daily_plan(
    symbol: str, start: dt.date, end: dt.date, missing: list[dt.date], limits: ProviderLimits, now: dt.datetime
) -> SymbolPlan:
    compact_from = sessions_back(_today(now), COMPACT_SESSIONS - COMPACT_MARGIN)
    full = missing[0] < compact_from and not limits.full_refused
    function = "TIME_SERIES_DAILY_ADJUSTED" if limits.adjusted else "TIME_SERIES_DAILY"
    span = (start, end) if full else (max(start, compact_from), end)
    call = Call(
        "daily",
        {"function": function, "symbol": symbol, "outputsize": "full" if full else "compact", "datatype": "json"},
        f"daily bars ({'full history' if full else 'newest 100'})",
        span,
    )
    unreachable = None if full or missing[0] >= compact_from else compact_from
    return SymbolPlan(symbol, PriceInterval.DAY, start, end, [call], len(missing), unreachable)


def _months(missing: list[dt.date]) -> list[str]:
    return sorted({day.strftime("%Y-%m") for day in missing})


def _month_span(month: str, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    first = dt.date.fromisoformat(f"{month}-01")
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return max(first, start), min(last, end)


def _intraday_plan(
    symbol: str, interval: PriceInterval, start: dt.date, end: dt.date, missing: list[dt.date]
) -> SymbolPlan:
    name = INTRADAY_NAMES[interval]
    calls = [
        Call(
            "intraday",
            {
                "function": "TIME_SERIES_INTRADAY",
                "symbol": symbol,
                "interval": name,
                "month": month,
                "outputsize": "full",
                "adjusted": "false",  # prices as traded, like the daily series
                "extended_hours": "true",  # pre-market and after-hours bars too
                "datatype": "csv",
            },
            f"{name} bars {month}",
            _month_span(month, start, end),
        )
        for month in _months(missing)
    ]
    return SymbolPlan(symbol, interval, start, end, calls, len(missing))


def _action_calls(symbol: str) -> list[Call]:
    return [
        Call("splits", {"function": "SPLITS", "symbol": symbol}, "splits"),
        Call("dividends", {"function": "DIVIDENDS", "symbol": symbol}, "dividends"),
    ]
