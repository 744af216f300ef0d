"""Which sessions of a symbol are known: a stored bar, or a provider's answer that covered the session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from db_models.market import PriceBar, PriceInterval
from db_models.price_fetch.sessions import sessions_between
from db_models.price_fetches import PriceFetchCoverage

PROVIDER = "alphavantage"


async def stored_dates(symbol: str, interval: PriceInterval, start: dt.date, end: dt.date) -> set[dt.date]:
    rows = (
        await PriceBar.filter(symbol=symbol, interval=interval, trade_date__gte=start, trade_date__lte=end)
        .distinct()
        .values_list("trade_date", flat=True)
    )
    return set(rows)


async def covered_spans(symbol: str, interval: PriceInterval) -> list[tuple[dt.date, dt.date]]:
    rows = await PriceFetchCoverage.filter(symbol=symbol, interval=interval).order_by("first_date")
    return [(row.first_date, row.last_date) for row in rows]


async def known_sessions(symbol: str, interval: PriceInterval, start: dt.date, end: dt.date) -> set[dt.date]:
    """Sessions in start..end that hold a stored bar or that a provider has answered for."""
    known = await stored_dates(symbol, interval, start, end)
    for first, last in await covered_spans(symbol, interval):
        if last >= start and first <= end:
            known.update(sessions_between(max(first, start), min(last, end)))
    return known


async def newest_stored_date(symbol: str, interval: PriceInterval) -> dt.date | None:
    row = await PriceBar.filter(symbol=symbol, interval=interval).order_by("-trade_date").first()
    return row.trade_date if row else None


def _merged(spans: Iterable[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    """Overlapping spans, or spans with no session between them, become one."""
    merged: list[tuple[dt.date, dt.date]] = []
    for first, last in sorted(spans):
        if merged:
            prev_first, prev_last = merged[-1]
            gap = sessions_between(prev_last + dt.timedelta(days=1), first - dt.timedelta(days=1))
            if first <= prev_last + dt.timedelta(days=1) or not gap:
                merged[-1] = (prev_first, max(prev_last, last))
                continue
        merged.append((first, last))
    return merged


async def record_coverage(symbol: str, interval: PriceInterval, spans: Iterable[tuple[dt.date, dt.date]]) -> None:
    """Adds spans to what the provider has answered for this symbol (call inside the symbol's transaction)."""
    new = list(spans)
    if not new:
        return
    merged = _merged([*await covered_spans(symbol, interval), *new])
    await PriceFetchCoverage.filter(symbol=symbol, interval=interval).delete()
    await PriceFetchCoverage.bulk_create(
        [
            PriceFetchCoverage(symbol=symbol, interval=interval, first_date=a, last_date=b, provider=PROVIDER)
            for a, b in merged
        ]
    )
