"""Keeps the session database's market data as it was: the suite relies on "no bars unless a test adds them"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from db_models.market import CorporateAction, PriceBar


@asynccontextmanager
async def restored_market_data() -> AsyncIterator[None]:
    """Whatever the block writes to price_bars and corporate_actions is undone afterwards."""
    bars = await PriceBar.all().order_by("id").values()
    actions = await CorporateAction.all().order_by("id").values()
    try:
        yield
    finally:
        await PriceBar.all().delete()
        await CorporateAction.all().delete()
        if bars:
            await PriceBar.bulk_create([PriceBar(**row) for row in bars], batch_size=1000)
        if actions:
            await CorporateAction.bulk_create([CorporateAction(**row) for row in actions], batch_size=1000)
