"""Keeps the session database's price bars as they were: the suite relies on "no bars unless a test adds them"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from db_models.market import PriceBar


@asynccontextmanager
async def restored_price_bars() -> AsyncIterator[None]:
    """Whatever the block writes to price_bars is undone afterwards: the table is put back as it was."""
    before = await PriceBar.all().order_by("id").values()
    try:
        yield
    finally:
        await PriceBar.all().delete()
        if before:
            await PriceBar.bulk_create([PriceBar(**row) for row in before], batch_size=1000)
