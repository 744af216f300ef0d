"""What a run may see of the market at its clock, and the price its orders fill at.

The clock (Run.clock_at) is the start of the run's current bar:
- daily runs: day D's bar. Earlier bars are whole; D shows its open only, and orders fill at it.
- intraday runs: decision bar t. Bars up to t are whole; orders fill at bar t+1's open.
Bars of other intervals are visible only for earlier trading days. Splits and dividends are visible from their
ex-date on (they apply at its open, before the run's first step that day). Nothing an LLM writes moves this.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from tortoise.queryset import QuerySet

from db_models.corporate_actions import Action, actions_between
from db_models.market import EXCHANGE_TZ, TICKER_PATTERN, PriceBar, PriceInterval
from db_models.runs import Run, TradingMode
from tools.run_bars import BAR_FIELDS, kept_bars
from tools.run_context import ToolRefusal

MAX_BARS = 500


class BarView(NamedTuple):
    """A bar as a run sees it; a tuple, as the tools build hundreds a call (a frozen dataclass: 4x the time)."""

    timestamp: dt.datetime
    trade_date: dt.date
    open: Decimal
    high: Decimal | None
    low: Decimal | None
    close: Decimal | None
    volume: float | None

    @property
    def partial(self) -> bool:
        return self.close is None

    def as_dict(self) -> dict:
        number = lambda v: None if v is None else float(v)  # noqa: E731
        return {
            "time": self.timestamp.astimezone(EXCHANGE_TZ).isoformat(),
            "date": self.trade_date.isoformat(),
            "open": number(self.open),
            "high": number(self.high),
            "low": number(self.low),
            "close": number(self.close),
            "volume": self.volume,
        }


def action_as_dict(action: Action) -> dict:
    """A split or dividend as the tools show it."""
    shown: dict = {"symbol": action.symbol, "ex_date": action.ex_date.isoformat(), "kind": str(action.kind)}
    if action.ratio is not None:
        shown |= {"ratio": float(action.ratio), "words": action.ratio_words}
    else:
        shown["cash_per_share"] = float(action.amount)
    return shown


@dataclass(frozen=True)
class Fill:
    price: Decimal
    timestamp: dt.datetime
    trade_date: dt.date


def parse_symbol(raw: str) -> str:
    """A well-formed ticker from what the model wrote, or a refusal it can read."""
    symbol = (raw or "").strip().upper()
    if not TICKER_PATTERN.match(symbol):
        raise ToolRefusal(f"{raw!r} is not a ticker symbol (e.g. AAPL).")
    return symbol


# Bars of one trading session per interval, at least: sizes the calendar span a batched read looks back over.
_BARS_PER_SESSION = {PriceInterval.DAY: 1, PriceInterval.HOUR: 6, PriceInterval.MINUTE: 360}


def _likely_span(interval: PriceInterval, bars: int) -> dt.timedelta:
    """Calendar days that usually hold `bars` bars: their sessions, plus weekends and holidays."""
    sessions = -(-bars // _BARS_PER_SESSION[interval])
    return dt.timedelta(days=sessions * 3 // 2 + 7)


class MarketView:
    def __init__(self, run: Run) -> None:
        if run.clock_at is None:
            raise ToolRefusal("This run has not started its clock yet.")
        self.run = run
        self.clock_at = run.clock_at
        self.interval = PriceInterval(run.bar_interval)
        self.today = run.clock_at.astimezone(EXCHANGE_TZ).date()
        self.is_daily = run.mode == TradingMode.DAILY

    async def bars(
        self, symbol: str, interval: PriceInterval, limit: int, until: dt.date | None = None
    ) -> list[BarView]:
        """The newest `limit` bars the run may see, oldest first; `until` can only narrow the window."""
        return [self._shown(interval, row) for row in await self._rows(symbol, interval, limit, until)]

    async def bars_of(
        self, symbols: list[str], interval: PriceInterval, limit: int, until: dt.date | None = None
    ) -> dict[str, list[BarView]]:
        """`bars` of several symbols. Those of the run's own interval up to its clock come from the bars the
        run has read before (tools/run_bars.py); others from one query over the calendar span that usually
        holds them."""
        limit = max(1, min(limit, MAX_BARS))
        if until is None and interval == self.interval:
            rows = await self._kept_rows(symbols, limit)
        else:
            rows = await self._rows_of(symbols, interval, limit, until)
        return {symbol: [self._shown(interval, row) for row in rows[symbol]] for symbol in symbols}

    async def _kept_rows(self, symbols: list[str], limit: int) -> dict[str, list[tuple]]:
        """The newest `limit` rows of the run's own interval up to its clock, from the bars the run keeps."""
        kept = kept_bars(self.run.id, self.run.created_at, self.interval)
        return await kept.newest(symbols, limit, self.clock_at, lambda short, n: self._rows_of(short, self.interval, n))

    async def _rows(self, symbol: str, interval: PriceInterval, limit: int, until: dt.date | None) -> list[tuple]:
        limit = max(1, min(limit, MAX_BARS))
        query = self._visible(PriceBar.filter(symbol=symbol, interval=interval), interval, until)
        return list(reversed(await query.order_by("-timestamp").limit(limit).values_list(*BAR_FIELDS)))

    async def _rows_of(
        self, symbols: list[str], interval: PriceInterval, limit: int, until: dt.date | None = None
    ) -> dict[str, list[tuple]]:
        """`_rows` of several symbols, in one query when each has `limit` bars in the recent calendar span that
        usually holds them; a symbol with fewer there (a gap, a short history) is read on its own."""
        if len(symbols) <= 1:
            return {symbol: await self._rows(symbol, interval, limit, until) for symbol in symbols}
        newest = self.today if until is None else min(until, self.today)
        query = PriceBar.filter(
            symbol__in=symbols, interval=interval, trade_date__gte=newest - _likely_span(interval, limit)
        )
        found: dict[str, list[tuple]] = {symbol: [] for symbol in symbols}
        for row in await self._visible(query, interval, until).order_by("timestamp").values_list(*BAR_FIELDS):
            found[row[0]].append(row)
        for symbol, rows in found.items():
            found[symbol] = rows[-limit:] if len(rows) >= limit else await self._rows(symbol, interval, limit, until)
        return found

    def _visible(self, query: QuerySet[PriceBar], interval: PriceInterval, until: dt.date | None) -> QuerySet[PriceBar]:
        """The bars of `query` the run may see at its clock (bars of another interval: earlier days only)."""
        if until is not None:
            query = query.filter(trade_date__lte=until)
        if interval != self.interval:
            return query.filter(trade_date__lt=self.today)
        return query.filter(timestamp__lte=self.clock_at)

    def _shown(self, interval: PriceInterval, row: tuple) -> BarView:
        """A visible bar as the run sees it: a daily run's bar at its clock shows only its open."""
        if row[1] == self.clock_at and self.is_daily and interval == self.interval:
            return BarView(row[1], row[2], row[3], None, None, None, None)
        return BarView(*row[1:])

    async def corporate_actions(self, symbol: str, since: dt.date | None = None) -> list[Action]:
        """The symbol's splits and dividends with since <= ex-date <= today: applied by the run's clock, none later."""
        return await actions_between([symbol], since, self.today)

    async def fill(self, symbol: str) -> Fill:
        """Daily: the open of today's bar. Intraday: the open of the next bar of this session."""
        if self.is_daily:
            # Today's bar is the newest up to the clock when it starts at the clock; the quote or the signals
            # read before an order have usually brought it into the kept bars already.
            newest = (await self._kept_rows([symbol], 1))[symbol]
            if not newest or newest[-1][1] != self.clock_at:
                raise ToolRefusal(f"{symbol} has no price for {self.today.isoformat()}; it cannot trade today.")
            _, timestamp, trade_date, open_, *_ = newest[-1]
            return Fill(open_, timestamp, trade_date)
        bar = await (
            PriceBar.filter(symbol=symbol, interval=self.interval, timestamp__gt=self.clock_at, trade_date=self.today)
            .order_by("timestamp")
            .first()
        )
        if bar is None:
            raise ToolRefusal(f"No later {symbol} bar in this session: orders can no longer fill today.")
        return Fill(bar.open, bar.timestamp, bar.trade_date)

    async def fill_marks(self, symbols: list[str]) -> dict[str, Decimal]:
        """Each symbol's price where orders fill now (today's open; intraday: the next bar's open), else its
        latest known price; a symbol with neither is left out."""
        marks: dict[str, Decimal] = {}
        for symbol in symbols:
            with contextlib.suppress(ToolRefusal):
                marks[symbol] = (await self.fill(symbol)).price
        unfilled = [symbol for symbol in symbols if symbol not in marks]
        return marks | (await self.mark_prices(unfilled) if unfilled else {})

    async def mark_prices(self, symbols: list[str]) -> dict[str, Decimal]:
        """The latest price the run knows of each symbol, for valuing holdings: today's open (daily) or the last
        close; a symbol with no price yet is left out."""
        latest = await self.bars_of(symbols, self.interval, 1)
        return {s: bars[-1].open if bars[-1].close is None else bars[-1].close for s, bars in latest.items() if bars}
