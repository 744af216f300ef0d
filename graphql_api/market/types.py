"""GraphQL types of market data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry

from db_models import market as db
from db_models.corporate_actions import Action
from db_models.price_adjustment import PriceAdjustment

PriceInterval = strawberry.enum(db.PriceInterval)
CorporateActionKind = strawberry.enum(db.CorporateActionKind)


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

    @classmethod
    def adjusted(cls, row: dict[str, Any], adjustment: PriceAdjustment) -> PriceBar:
        day = row["trade_date"]
        return cls.from_values(
            {
                **row,
                **{key: adjustment.price(row[key], day) for key in ("open", "high", "low", "close")},
                "volume": adjustment.volume(row["volume"], day),
            }
        )


@strawberry.type(description="A split or a cash dividend of one symbol, effective at the open of its ex-date.")
class CorporateAction:
    symbol: str
    ex_date: date
    kind: CorporateActionKind
    ratio: float | None = strawberry.field(
        description="A SPLIT's new shares per old share: 2 for 2-for-1, 1.5 for 3-for-2, 0.1 for 1-for-10."
    )
    amount: float | None = strawberry.field(description="A DIVIDEND's cash per share.")
    source: str = strawberry.field(description="Where it came from, e.g. the shipped prices' Adj Close or a file.")

    @classmethod
    def from_action(cls, action: Action) -> CorporateAction:
        return cls(
            symbol=action.symbol,
            ex_date=action.ex_date,
            kind=action.kind,
            ratio=None if action.ratio is None else float(action.ratio),
            amount=None if action.amount is None else float(action.amount),
            source=action.source,
        )
