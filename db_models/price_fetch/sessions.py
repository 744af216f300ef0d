"""The exchange's trading sessions (NYSE: holidays and special closures), and which of them are over.

A fetch asks only for sessions that are over: a daily bar is final after the regular close, an intraday
day after the extended session (20:00 New York). Bars of a session still trading are left for a later fetch.
"""

from __future__ import annotations

import datetime as dt
import warnings
from functools import lru_cache
from typing import TYPE_CHECKING

from db_models.market import EXCHANGE_TZ, PriceInterval

if TYPE_CHECKING:
    from exchange_calendars import ExchangeCalendar

EXCHANGE = "XNYS"  # the New York Stock Exchange's calendar, in EXCHANGE_TZ
FIRST_DATE = dt.date(2000, 1, 3)  # Alpha Vantage's intraday history starts in 2000-01
EXTENDED_CLOSE = dt.time(20, 0)


@lru_cache(maxsize=1)
def _calendar() -> ExchangeCalendar:
    # The calendar reaches one year past today; building it takes most of a second, once per process (and its
    # import half a second: done here, so that processes that never fetch do not pay for it).
    import exchange_calendars

    with warnings.catch_warnings():
        # exchange-calendars reads Series.values, which pandas 3.1 deprecates for time-zone-aware data.
        warnings.simplefilter("ignore", DeprecationWarning)
        return exchange_calendars.get_calendar(EXCHANGE, start=FIRST_DATE.isoformat())


def sessions_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Trading days from start to end inclusive (clipped to the calendar's reach)."""
    calendar = _calendar()
    first = max(start, calendar.first_session.date())
    last = min(end, calendar.last_session.date())
    if first > last:
        return []
    return [ts.date() for ts in calendar.sessions_in_range(first.isoformat(), last.isoformat())]


def last_finished_session(now: dt.datetime, interval: PriceInterval) -> dt.date | None:
    """The newest session whose bars of this interval are final at `now` (a UTC-aware instant)."""
    calendar = _calendar()
    today = now.astimezone(EXCHANGE_TZ).date()
    recent = sessions_between(today - dt.timedelta(days=14), today)
    for day in reversed(recent):
        if _finished_at(day, interval, calendar) <= now:
            return day
    return None


def _finished_at(day: dt.date, interval: PriceInterval, calendar: ExchangeCalendar) -> dt.datetime:
    if interval is PriceInterval.DAY:
        return calendar.session_close(day.isoformat()).to_pydatetime()
    return dt.datetime.combine(day, EXTENDED_CLOSE, tzinfo=EXCHANGE_TZ)


def sessions_back(end: dt.date, count: int) -> dt.date:
    """The session `count - 1` sessions before the last session on or before `end`: the oldest of the `count`
    newest sessions up to `end`."""
    window = sessions_between(end - dt.timedelta(days=count * 2 + 14), end)
    return window[-count] if len(window) >= count else (window[0] if window else end)
