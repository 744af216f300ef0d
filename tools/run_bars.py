"""The bars of each running run's own interval, kept in this process from one tool call to the next.

A run's clock only moves forward, and the bars before it are in the database before the run steps over them,
so what one call read up to the clock serves the calls after it: a new step reads only the bars since the
previous clock, in one query for every ticker the run has asked about. Nothing after the clock is ever read
into it (each read stops at the clock of the call that reads), and `MarketView` still shows a daily run's bar
at its clock as its open only. A run's entry is dropped when it is among the least recently used beyond
KEPT_RUNS; a clock that ever moved back would drop what was read after it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from db_models.market import PriceBar, PriceInterval

# A bar as read: (symbol, timestamp, trade_date, open, high, low, close, volume).
BAR_FIELDS = ("symbol", "timestamp", "trade_date", "open", "high", "low", "close", "volume")
Row = tuple
# Reads the newest `limit` rows of each symbol up to the clock, oldest first.
ReadNewest = Callable[[list[str], int], Awaitable[dict[str, list[Row]]]]

KEPT_RUNS = 64


@dataclass
class _Series:
    rows: list[Row]  # oldest first, up to the clock of the latest read
    whole: bool  # no stored bar precedes rows[0]


class RunBars:
    """One run's bars of one interval: the newest `depth` of each symbol asked about, up to its latest clock."""

    def __init__(self, interval: PriceInterval) -> None:
        self.interval = interval
        self.clock: dt.datetime | None = None
        self.depth = 1  # the most bars of a symbol any call asked for
        self._series: dict[str, _Series] = {}
        self._lock = asyncio.Lock()  # the calls of one step arrive together: one of them reads
        self._loop: asyncio.AbstractEventLoop | None = None

    async def newest(
        self, symbols: list[str], limit: int, clock: dt.datetime, read: ReadNewest
    ) -> dict[str, list[Row]]:
        """The newest `limit` rows of each symbol with timestamp <= clock, oldest first."""
        async with self._lock_of_this_loop():
            if self.clock is not None and clock < self.clock:
                self._series.clear()
            elif self.clock is not None and clock > self.clock and self._series:
                await self._extend(clock)
            self.clock = clock
            self.depth = max(self.depth, limit)
            short = [s for s in symbols if not self._holds(s, limit)]
            if short:
                for symbol, rows in (await read(short, self.depth)).items():
                    self._series[symbol] = _Series(list(rows), whole=len(rows) < self.depth)
            return {symbol: self._series[symbol].rows[-limit:] for symbol in symbols}

    def _lock_of_this_loop(self) -> asyncio.Lock:
        """The lock, made anew if the run's tools are now served by another event loop of this process (an
        asyncio lock belongs to one loop)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._lock = loop, asyncio.Lock()
        return self._lock

    def _holds(self, symbol: str, limit: int) -> bool:
        series = self._series.get(symbol)
        return series is not None and (series.whole or len(series.rows) >= limit)

    async def _extend(self, clock: dt.datetime) -> None:
        """Appends the bars of (previous clock, clock], keeping the newest `depth` of each symbol."""
        rows = await (
            PriceBar.filter(
                symbol__in=list(self._series), interval=self.interval, timestamp__gt=self.clock, timestamp__lte=clock
            )
            .order_by("timestamp")
            .values_list(*BAR_FIELDS)
        )
        for row in rows:
            self._series[row[0]].rows.append(row)
        for series in self._series.values():
            if len(series.rows) > self.depth:
                del series.rows[: -self.depth]
                series.whole = False


_kept: OrderedDict[tuple[int, dt.datetime, PriceInterval], RunBars] = OrderedDict()


def kept_bars(run_id: int, created_at: dt.datetime, interval: PriceInterval) -> RunBars:
    """The run's kept bars of this interval (a run is known by its id and creation time: ids come back in a
    fresh database)."""
    key = (run_id, created_at, interval)
    bars = _kept.pop(key, None) or RunBars(interval)
    _kept[key] = bars
    while len(_kept) > KEPT_RUNS:
        _kept.popitem(last=False)
    return bars
