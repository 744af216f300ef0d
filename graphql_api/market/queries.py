"""Market queries: public, no token needed."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from db_models.market import TICKER_PATTERN
from db_models.market import PriceBar as PriceBarRow
from graphql_api.errors import BadUserInput
from graphql_api.market.types import PriceBar, PriceInterval

MAX_BARS = 5_000
_COLUMNS = ("symbol", "timestamp", "open", "high", "low", "close", "volume")


def clean_symbol(symbol: str) -> str:
    value = symbol.strip().upper()
    if not TICKER_PATTERN.match(value):
        raise BadUserInput(f"symbol: {symbol!r} is not a well-formed ticker symbol (e.g. AAPL, BRK.B).", field="symbol")
    return value


@strawberry.type
class MarketQueries:
    @strawberry.field(description="Public: the symbols with price data.")
    async def symbols(self) -> list[str]:
        return sorted(await PriceBarRow.all().distinct().values_list("symbol", flat=True))

    @strawberry.field(
        description=(
            "Public: price bars of one symbol, oldest first. from and to are inclusive trading dates in the "
            "exchange's time zone. An unknown symbol answers an empty list. Bars that carry only their open "
            f"(the newest bar of some feeds) are left out. At most {MAX_BARS:,} bars: a longer range answers "
            "BAD_USER_INPUT; narrow from/to."
        )
    )
    async def stock_prices(
        self,
        symbol: str,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
        interval: PriceInterval | None = PriceInterval.DAY,
    ) -> list[PriceBar]:
        ticker = clean_symbol(symbol)
        interval = interval or PriceInterval.DAY
        if from_ is not None and to is not None and from_ > to:
            raise BadUserInput(f"from ({from_.isoformat()}) is after to ({to.isoformat()}).", field="from")
        query = PriceBarRow.filter(
            symbol=ticker, interval=interval, high__isnull=False, low__isnull=False, close__isnull=False
        )
        if from_ is not None:
            query = query.filter(trade_date__gte=from_)
        if to is not None:
            query = query.filter(trade_date__lte=to)
        rows = await query.order_by("timestamp").limit(MAX_BARS + 1).values(*_COLUMNS)
        if len(rows) > MAX_BARS:
            raise BadUserInput(
                f"The range holds more than {MAX_BARS:,} {interval.value} bars of {ticker}; narrow from/to.",
                field="to",
                limit=MAX_BARS,
            )
        return [PriceBar.from_values(row) for row in rows]
