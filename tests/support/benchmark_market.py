"""Synthetic daily bars for benchmarks: reproducible random walks on weekdays, labelled source="benchmark".

Tickers are made up (BMK00, BMK01, ...) so they never clash with shipped or test data; the bars are
inserted by a benchmark and deleted by it afterwards.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from zoneinfo import ZoneInfo

from db_models.market import PriceBar, PriceInterval

SOURCE = "benchmark"
NEW_YORK = ZoneInfo("America/New_York")
FIRST_DAY = dt.date(2021, 1, 4)


def tickers(count: int) -> list[str]:
    return [f"BMK{i:02d}" for i in range(count)]


def weekdays(count: int, first: dt.date = FIRST_DAY) -> list[dt.date]:
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _bars(symbol: str, days: list[dt.date], rng: random.Random) -> list[PriceBar]:
    rows, close = [], rng.uniform(20, 400)
    for day in days:
        open_ = close * (1 + rng.gauss(0, 0.004))
        close = max(1.0, open_ * (1 + rng.gauss(0.0003, 0.015)))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.004)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.004)))
        rows.append(
            PriceBar(
                symbol=symbol,
                interval=PriceInterval.DAY,
                trade_date=day,
                source=SOURCE,
                timestamp=dt.datetime.combine(day, dt.time(9, 30), NEW_YORK).astimezone(dt.UTC),
                open=Decimal(f"{open_:.4f}"),
                high=Decimal(f"{high:.4f}"),
                low=Decimal(f"{low:.4f}"),
                close=Decimal(f"{close:.4f}"),
                volume=float(rng.randint(100_000, 5_000_000)),
            )
        )
    return rows


async def insert_benchmark_bars(symbols: list[str], days: list[dt.date], seed: int = 252) -> int:
    rng = random.Random(seed)
    rows = [bar for symbol in symbols for bar in _bars(symbol, days, rng)]
    await PriceBar.bulk_create(rows, batch_size=1000)
    return len(rows)


async def delete_benchmark_bars(symbols: list[str]) -> None:
    await PriceBar.filter(symbol__in=symbols, source=SOURCE).delete()


@asynccontextmanager
async def stored_bars(symbols: list[str], days: list[dt.date]) -> AsyncIterator[None]:
    """The symbols' synthetic bars over the days, stored for the block and deleted after it."""
    await insert_benchmark_bars(symbols, days)
    try:
        yield
    finally:
        await delete_benchmark_bars(symbols)
