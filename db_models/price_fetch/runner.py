"""Fetching symbols one after another: every call of a symbol first, then its bars, actions and coverage in one
transaction, so a symbol that fails (or a fetch that is interrupted) writes nothing of that symbol, and the
symbols written before are not asked again by the next fetch.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from db_models.corporate_actions import Action, store_actions
from db_models.price_bars import Bar
from db_models.price_fetch.client import AlphaVantageClient, ClientConfig
from db_models.price_fetch.coverage import record_coverage
from db_models.price_fetch.errors import FetchCancelled, FetchStopped, PremiumRequired, SymbolFailed
from db_models.price_fetch.planner import Call, FetchRequest, ProviderLimits, SymbolPlan, plan_symbol
from db_models.price_fetch.responses import adjusted_series_actions, parse_bars, parse_dividends, parse_splits
from db_models.price_fetch.results import FetchReport, SymbolResult, SymbolStatus
from db_models.price_import import write_bars
from db_models.settings import Settings

log = logging.getLogger(__name__)


class FetchObserver:
    """Hears a fetch's progress (a progress bar, a job's events); every method may be left as is."""

    async def symbol_started(self, symbol: str, index: int, total: int, calls: int) -> None:
        """Symbol number `index` (from 0) of `total` needs `calls` calls."""

    async def call_done(self, symbol: str, done: int, calls: int, label: str) -> None:
        """The symbol's call number `done` (from 1) has been answered."""

    async def symbol_finished(self, result: SymbolResult, index: int, total: int) -> None:
        """The symbol is written (or failed, or was up to date)."""

    async def cancelled(self) -> bool:
        """Asked before each call and before a symbol is written: True stops the fetch there, and the symbol in
        progress writes nothing."""
        return False


@dataclass
class _Gathered:
    bars: list[Bar] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    spans: list[tuple[dt.date, dt.date]] = field(default_factory=list)


def _source(call: Call) -> str:
    return f"alphavantage {call.function}"


def _inside(bars: list[Bar], span: tuple[dt.date, dt.date]) -> list[Bar]:
    return [bar for bar in bars if span[0] <= bar.trade_date <= span[1]]


def _answered_span(call: Call, bars: list[Bar], plan: SymbolPlan) -> tuple[dt.date, dt.date]:
    """The sessions the answer speaks for: a compact answer reaches back to its oldest bar, which may be
    older than the planned span (the plan leaves a margin)."""
    assert call.span is not None
    if call.params.get("outputsize") != "compact" or not bars:
        return call.span
    oldest = min(bar.trade_date for bar in bars)
    return max(plan.start, min(oldest, call.span[0])), call.span[1]


async def _unless_cancelled(observer: FetchObserver) -> None:
    if await observer.cancelled():
        raise FetchCancelled()


class PriceFetcher:
    """Fetches the symbols of one request with one client; `limits` carries what the key turned out to allow."""

    def __init__(
        self, client: AlphaVantageClient, request: FetchRequest, *, adjusted: bool, now: dt.datetime | None = None
    ) -> None:
        self.client = client
        self.request = request
        self.limits = ProviderLimits(adjusted=adjusted)
        self.now = now or dt.datetime.now(dt.UTC)

    async def fetch_symbol(self, symbol: str, index: int, total: int, observer: FetchObserver) -> SymbolResult:
        """Raises FetchStopped (the symbol wrote nothing); any other problem is the symbol's FAILED result."""
        try:
            plan, gathered, note = await self._gather(symbol, index, total, observer)
            result = await self._write(plan, gathered)
        except SymbolFailed as exc:
            return SymbolResult(symbol, SymbolStatus.FAILED, message=str(exc))
        result.message = note
        return result

    async def _gather(
        self, symbol: str, index: int, total: int, observer: FetchObserver
    ) -> tuple[SymbolPlan, _Gathered, str | None]:
        """Every call of the symbol, answered; a premium-only answer re-plans the symbol without it once."""
        while True:
            plan = await plan_symbol(symbol, self.request, self.limits, self.now)
            await observer.symbol_started(symbol, index, total, len(plan.calls))
            try:
                gathered = _Gathered()
                for done, call in enumerate(plan.calls, start=1):
                    await _unless_cancelled(observer)
                    await self._ask(call, plan, gathered)
                    await observer.call_done(symbol, done, len(plan.calls), call.label)
                await _unless_cancelled(observer)  # an answer that came after the request is not written
                return plan, gathered, self._unreachable_note(plan)
            except PremiumRequired as exc:
                if not self._learn(exc, plan):
                    raise

    def _learn(self, refusal: PremiumRequired, plan: SymbolPlan) -> bool:
        """Falls back from what the key may not ask (full history, the adjusted series); False if nothing is left."""
        daily = next((c for c in plan.calls if c.kind == "daily"), None)
        if daily is None:
            return False
        if daily.params.get("function") == "TIME_SERIES_DAILY_ADJUSTED" and self.limits.adjusted:
            log.warning("The key may not ask TIME_SERIES_DAILY_ADJUSTED; asking TIME_SERIES_DAILY, SPLITS, DIVIDENDS.")
            self.limits.adjusted = False
            return True
        if daily.params.get("outputsize") == "full" and not self.limits.full_refused:
            log.warning("The key may not ask the full daily history; asking the newest 100 sessions.")
            self.limits.full_refused = True
            return True
        return False

    @staticmethod
    def _unreachable_note(plan: SymbolPlan) -> str | None:
        if plan.unreachable_before is None:
            return None
        return (
            f"sessions before {plan.unreachable_before} need the full daily history, "
            "a premium feature of Alpha Vantage; they were not fetched"
        )

    async def _ask(self, call: Call, plan: SymbolPlan, gathered: _Gathered) -> None:
        answer = await self.client.query(call.params)
        source = _source(call)
        if call.kind in ("daily", "intraday"):
            assert call.span is not None
            bars = parse_bars(answer, plan.symbol, plan.interval, source)
            span = _answered_span(call, bars, plan)
            gathered.bars.extend(_inside(bars, span))
            gathered.spans.append(span)
            if call.function == "TIME_SERIES_DAILY_ADJUSTED":
                gathered.actions.extend(adjusted_series_actions(answer, plan.symbol, source))
        elif call.kind == "splits":
            gathered.actions.extend(parse_splits(answer, plan.symbol, source))
        else:
            gathered.actions.extend(parse_dividends(answer, plan.symbol, source))

    async def _write(self, plan: SymbolPlan, gathered: _Gathered) -> SymbolResult:
        result = SymbolResult(plan.symbol, SymbolStatus.UP_TO_DATE)
        if not plan.calls:
            return result
        async with in_transaction():
            if gathered.bars:
                written = await write_bars(gathered.bars)
                result.bars_added, result.bars_updated = written.inserted, written.updated
                dates = [bar.trade_date for bar in gathered.bars]
                result.first_date, result.last_date = min(dates), max(dates)
            result.actions_added = await store_actions(gathered.actions)
            await record_coverage(plan.symbol, plan.interval, gathered.spans)
        if result.bars_added or result.actions_added:
            result.status = SymbolStatus.FETCHED
        return result


async def fetch_prices(
    settings: Settings,
    request: FetchRequest,
    *,
    observer: FetchObserver | None = None,
    skip: Collection[str] = (),
    now: dt.datetime | None = None,
) -> FetchReport:
    """Fetches every symbol of the request (but those in `skip`), in order; raises MissingApiKey at once."""
    config = ClientConfig.from_settings(settings)
    observer = observer or FetchObserver()
    symbols = [s for s in request.symbols if s not in skip]
    report = FetchReport()
    async with AlphaVantageClient(config) as client:
        fetcher = PriceFetcher(client, request, adjusted=settings.alphavantage_adjusted, now=now)
        for index, symbol in enumerate(symbols):
            asked_before = client.requests
            if report.stopped is not None:
                result = SymbolResult(symbol, SymbolStatus.NOT_FETCHED, message="the fetch stopped before it")
            else:
                try:
                    result = await fetcher.fetch_symbol(symbol, index, len(symbols), observer)
                except FetchStopped as exc:
                    report.stopped, report.cancelled = str(exc), isinstance(exc, FetchCancelled)
                    result = SymbolResult(symbol, SymbolStatus.NOT_FETCHED, message="the fetch stopped during it")
            result.requests = client.requests - asked_before
            report.results.append(result)
            await observer.symbol_finished(result, index, len(symbols))
    return report
