"""Market queries: public, no token needed."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from db_models.corporate_actions import actions_between
from db_models.market import TICKER_PATTERN
from db_models.market import PriceBar as PriceBarRow
from db_models.price_adjustment import load_adjustment
from graphql_api.errors import BadUserInput
from graphql_api.market.types import CorporateAction, PriceBar, PriceInterval

MAX_BARS = 5_000
_COLUMNS = ("symbol", "timestamp", "trade_date", "open", "high", "low", "close", "volume")


def clean_symbol(symbol: str) -> str:
    value = symbol.strip().upper()
    if not TICKER_PATTERN.match(value):
        raise BadUserInput(f"symbol: {symbol!r} is not a well-formed ticker symbol (e.g. AAPL, BRK.B).", field="symbol")
    return value


def _check_range(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and start > end:
        raise BadUserInput(f"from ({start.isoformat()}) is after to ({end.isoformat()}).", field="from")


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
        adjusted: Annotated[
            bool | None,
            strawberry.argument(
                description=(
                    "false (the default): prices as traded, what runs trade at. true: adjusted for every split and "
                    "dividend stored, including those after `to` (hindsight data for charts, like an Adj Close "
                    "column): earlier prices are scaled so returns across ex-dates are total returns, the latest "
                    "prices stay as traded, and volumes are scaled by the splits."
                )
            ),
        ] = False,
    ) -> list[PriceBar]:
        ticker = clean_symbol(symbol)
        interval = interval or PriceInterval.DAY
        _check_range(from_, to)
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
        if adjusted:
            adjustment = await load_adjustment(ticker)
            return [PriceBar.adjusted(row, adjustment) for row in rows]
        return [PriceBar.from_values(row) for row in rows]

    @strawberry.field(
        description=(
            "Public: the splits and cash dividends stored for one symbol, by ex-date (from and to inclusive), in "
            "the order they apply (on one ex-date a dividend before a split). An unknown symbol answers an empty list."
        )
    )
    async def corporate_actions(
        self,
        symbol: str,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> list[CorporateAction]:
        ticker = clean_symbol(symbol)
        _check_range(from_, to)
        return [CorporateAction.from_action(a) for a in await actions_between([ticker], from_, to)]
