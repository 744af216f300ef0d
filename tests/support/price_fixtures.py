"""A small, recognisable price series for look-ahead tests.

Every number encodes its bar, so a value from the future is easy to spot in a tool's answer:
daily bar i (i = 0 on 2025-01-02) opens at 100 + i, closes at 100.25 + i, highs at 100.6 + i and lows at
99.7 + i (no two bars share a value); hourly bars of 2025-01-15 (10:00 .. 15:00 New York) follow the same
pattern around 500 + hour.
The bars are labelled source="test" and removed after use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from zoneinfo import ZoneInfo

from db_models.corporate_actions import Action, store_actions
from db_models.market import CorporateAction, PriceBar, PriceInterval

NEW_YORK = ZoneInfo("America/New_York")
SYMBOL = "LKAH"
OTHER = "LKBH"
HOURLY_DATE = dt.date(2025, 1, 15)
HOURS = range(10, 16)
HIGH_OFFSET = Decimal("0.6")
LOW_OFFSET = Decimal("0.3")


def trading_days() -> list[dt.date]:
    days, day = [], dt.date(2025, 1, 2)
    while day <= dt.date(2025, 1, 31):
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def session_open(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 30), NEW_YORK).astimezone(dt.UTC)


def hour_start(hour: int, day: dt.date = HOURLY_DATE) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), NEW_YORK).astimezone(dt.UTC)


def daily_open(i: int) -> Decimal:
    return Decimal(100 + i)


def daily_close(i: int) -> Decimal:
    return Decimal(100 + i) + Decimal("0.25")


def daily_high(i: int) -> Decimal:
    return daily_open(i) + HIGH_OFFSET


def daily_low(i: int) -> Decimal:
    return daily_open(i) - LOW_OFFSET


def hourly_open(hour: int) -> Decimal:
    return Decimal(500 + hour)


def hourly_close(hour: int) -> Decimal:
    return Decimal(500 + hour) + Decimal("0.25")


def _bars(symbol: str, offset: int) -> list[PriceBar]:
    rows = [
        PriceBar(
            symbol=symbol,
            interval=PriceInterval.DAY,
            timestamp=session_open(day),
            trade_date=day,
            open=daily_open(i) + offset,
            high=daily_high(i) + offset,
            low=daily_low(i) + offset,
            close=daily_close(i) + offset,
            volume=1000 + i,
            source="test",
        )
        for i, day in enumerate(trading_days())
    ]
    rows += [
        PriceBar(
            symbol=symbol,
            interval=PriceInterval.HOUR,
            timestamp=hour_start(hour),
            trade_date=HOURLY_DATE,
            open=hourly_open(hour) + offset,
            high=hourly_open(hour) + offset + HIGH_OFFSET,
            low=hourly_open(hour) + offset - LOW_OFFSET,
            close=hourly_close(hour) + offset,
            volume=10 * hour,
            source="test",
        )
        for hour in HOURS
    ]
    return rows


async def insert_test_bars() -> None:
    await PriceBar.bulk_create(_bars(SYMBOL, 0) + _bars(OTHER, 1000))


async def delete_test_bars() -> None:
    await PriceBar.filter(symbol__in=[SYMBOL, OTHER], source="test").delete()


@asynccontextmanager
async def test_bars() -> AsyncIterator[None]:
    """The series in the database for the length of the block."""
    await insert_test_bars()
    try:
        yield
    finally:
        await delete_test_bars()


# Splits and dividends of SYMBOL around day 9 (2025-01-15, the hourly day): two up to that day, two after it,
# with numbers that appear nowhere else so a look-ahead is easy to spot.
PAST_DIVIDEND = Action.dividend(SYMBOL, trading_days()[6], Decimal("0.37"), "test")
TODAYS_SPLIT = Action.split(SYMBOL, HOURLY_DATE, Decimal("1.5"), "test")
FUTURE_DIVIDEND = Action.dividend(SYMBOL, trading_days()[10], Decimal("7.77"), "test")
FUTURE_SPLIT = Action.split(SYMBOL, trading_days()[15], Decimal("4"), "test")
TEST_ACTIONS = (PAST_DIVIDEND, TODAYS_SPLIT, FUTURE_DIVIDEND, FUTURE_SPLIT)


@asynccontextmanager
async def test_actions() -> AsyncIterator[None]:
    """The test splits and dividends in the database for the length of the block."""
    await store_actions(TEST_ACTIONS)
    try:
        yield
    finally:
        await CorporateAction.filter(symbol=SYMBOL, source="test").delete()
