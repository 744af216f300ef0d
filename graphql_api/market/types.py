"""GraphQL types of market data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from db_models import market as db

PriceInterval = strawberry.enum(db.PriceInterval)


@strawberry.type(description="One bar: its start (UTC), its prices and its volume.")
class PriceBar:
    symbol: str
    timestamp: datetime = strawberry.field(
        description=f"The bar's start in UTC. Daily bars start at 09:30 {db.EXCHANGE_TIMEZONE} on their trading date."
    )
    open: float
    high: float
    low: float
    close: float
    volume: float | None

    @classmethod
    def from_values(cls, row: dict[str, Any]) -> PriceBar:
        return cls(
            symbol=row["symbol"],
            timestamp=row["timestamp"],
            open=float(row["open"]),
            high=float(row["high"]),
            low=float(row["low"]),
            close=float(row["close"]),
            volume=row["volume"],
        )
