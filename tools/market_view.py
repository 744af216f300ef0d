"""What a run may see of the market at its clock, and the price its orders fill at.

The clock (Run.clock_at) is the start of the run's current bar:
- daily runs: day D's bar. Earlier bars are whole; D shows its open only, and orders fill at it.
- intraday runs: decision bar t. Bars up to t are whole; orders fill at bar t+1's open.
Bars of other intervals are visible only for earlier trading days. Splits and dividends are visible from their
ex-date on (they apply at its open, before the run's first step that day). Nothing an LLM writes moves this.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from db_models.corporate_actions import Action, actions_between
from db_models.market import EXCHANGE_TZ, TICKER_PATTERN, PriceBar, PriceInterval
from db_models.runs import Run, TradingMode
from tools.run_context import ToolRefusal

MAX_BARS = 500


@dataclass(frozen=True)
class BarView:
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


def _whole(bar: PriceBar) -> BarView:
    return BarView(bar.timestamp, bar.trade_date, bar.open, bar.high, bar.low, bar.close, bar.volume)


def _open_only(bar: PriceBar) -> BarView:
    return BarView(bar.timestamp, bar.trade_date, bar.open, None, None, None, None)


class MarketView:
    def __init__(self, run: Run) -> None:
        if run.clock_at is None:
            raise ToolRefusal("This run has not started its clock yet.")
        self.run = run
        self.clock_at = run.clock_at
        self.interval = PriceInterval(run.bar_interval)
        self.today = run.clock_at.astimezone(EXCHANGE_TZ).date()

    @property
    def is_daily(self) -> bool:
        return self.run.mode == TradingMode.DAILY

    async def bars(
        self, symbol: str, interval: PriceInterval, limit: int, until: dt.date | None = None
    ) -> list[BarView]:
        """The newest `limit` bars the run may see, oldest first; `until` can only narrow the window."""
        limit = max(1, min(limit, MAX_BARS))
        query = PriceBar.filter(symbol=symbol, interval=interval)
        if until is not None:
            query = query.filter(trade_date__lte=until)
        if interval != self.interval:
            rows = await query.filter(trade_date__lt=self.today).order_by("-timestamp").limit(limit)
            return [_whole(b) for b in reversed(rows)]
        if not self.is_daily:
            rows = await query.filter(timestamp__lte=self.clock_at).order_by("-timestamp").limit(limit)
            return [_whole(b) for b in reversed(rows)]
        rows = await query.filter(timestamp__lte=self.clock_at).order_by("-timestamp").limit(limit)
        return [_open_only(b) if b.timestamp == self.clock_at else _whole(b) for b in reversed(rows)]

    async def corporate_actions(self, symbol: str, since: dt.date | None = None) -> list[Action]:
        """The symbol's splits and dividends with since <= ex-date <= today: applied by the run's clock, none later."""
        return await actions_between([symbol], since, self.today)

    async def fill(self, symbol: str) -> Fill:
        """Daily: the open of today's bar. Intraday: the open of the next bar of this session."""
        if self.is_daily:
            bar = await PriceBar.get_or_none(symbol=symbol, interval=self.interval, timestamp=self.clock_at)
            if bar is None:
                raise ToolRefusal(f"{symbol} has no price for {self.today.isoformat()}; it cannot trade today.")
            return Fill(bar.open, bar.timestamp, bar.trade_date)
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
            try:
                marks[symbol] = (await self.fill(symbol)).price
            except ToolRefusal:
                latest = await self.mark_price(symbol)
                if latest is not None:
                    marks[symbol] = latest
        return marks

    async def mark_price(self, symbol: str) -> Decimal | None:
        """The latest price the run knows for valuing holdings: today's open (daily) or the last close."""
        latest = await self.bars(symbol, self.interval, 1)
        if not latest:
            return None
        bar = latest[-1]
        return bar.open if bar.close is None else bar.close
