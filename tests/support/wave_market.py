"""A small market for run, arena and client-example tests: the steady test symbols plus one that swings.

The swinging symbol gives curves losing days, drawdowns and returns unlike the steady series. Each test
module names its own swinging symbol, so modules never share rows.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

from db_models.market import PriceBar, PriceInterval
from tests.support import price_fixtures as px
from tests.support.run_helpers import tool_servers_for_runs

DAYS = px.trading_days()
WAVE_CLOSES = [Decimal("50") + Decimal(str(round(4 * math.sin(0.9 * i), 2))) for i in range(len(DAYS))]
WAVE_OPENS = [Decimal("50"), *WAVE_CLOSES[:-1]]


def wave_bars(symbol: str) -> list[PriceBar]:
    """The swinging symbol's daily bars: each day opens at the previous close."""
    return [
        PriceBar(
            symbol=symbol,
            interval=PriceInterval.DAY,
            timestamp=px.session_open(day),
            trade_date=day,
            open=o,
            close=c,
            high=max(o, c) + Decimal("0.5"),
            low=min(o, c) - Decimal("0.5"),
            volume=500,
            source="test",
        )
        for day, o, c in zip(DAYS, WAVE_OPENS, WAVE_CLOSES, strict=True)
    ]


@asynccontextmanager
async def wave_market(symbol: str) -> AsyncIterator[dict[str, str]]:
    """The test bars and the swinging symbol stored, tool servers running (their URLs yielded); removed after."""
    await px.insert_test_bars()
    await PriceBar.bulk_create(wave_bars(symbol))
    try:
        async with tool_servers_for_runs() as urls:
            yield urls
    finally:
        await px.delete_test_bars()
        await PriceBar.filter(symbol=symbol, source="test").delete()
