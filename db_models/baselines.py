"""The baselines of a run or an arena: what the market did over the same closes, from stored prices only.

Every run has a frictionless buy-and-hold of its tickers (intraday: its symbol) in equal parts, and an
index when it names one. Each baseline is valued at exactly the closes of the run's own equity curve, so
it never reaches past what the run has recorded (nor past its clock). While the run is live the
baselines are computed on read; when it ends their curves are stored and its figures made from them.
An arena's baselines are valued at the closes of every member's curve, from the arena's own tickers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from tortoise.transactions import in_transaction

from db_models.arenas import Arena
from db_models.buy_and_hold import HeldValue, Quote, ValuationPoint, hold_curve
from db_models.corporate_actions import actions_between
from db_models.ledger import QUANTUM, initial_cash
from db_models.market import PriceBar, PriceInterval
from db_models.metrics import (
    TRADING_DAYS_PER_YEAR,
    PerformanceFigures,
    TradeRecord,
    compute_performance,
    run_periods_per_year,
)
from db_models.relative import RelativeFigures, relative_performance
from db_models.runs import BenchmarkCurve, BenchmarkKind, EquityPoint, Run, TradingMode

DEFAULT_INDEX = "QQQ"


@dataclass(frozen=True)
class BaselineSpec:
    kind: BenchmarkKind
    symbols: tuple[str, ...]

    @property
    def label(self) -> str:
        if self.kind is BenchmarkKind.INDEX:
            return f"{self.symbols[0]} (index)"
        return f"Buy and hold {', '.join(self.symbols)} (equal weight)" if self.symbols else "Cash"


@dataclass(frozen=True)
class Baseline:
    spec: BaselineSpec
    initial_value: Decimal
    points: list[HeldValue]
    purchases: int
    dividends: Decimal
    periods_per_year: int

    @property
    def performance(self) -> PerformanceFigures:
        """The figures of its curve; trades are its purchases, fees none, dividends what its holdings paid."""
        buys = [TradeRecord("BUY", None, None, None)] * self.purchases
        curve = [(p.date, p.value) for p in self.points]
        figures = compute_performance(self.initial_value, curve, buys, self.periods_per_year)
        return replace(figures, total_dividends=float(self.dividends))


@dataclass(frozen=True)
class RunBaseline:
    """A run's baseline and the run's figures against it."""

    baseline: Baseline
    relative: RelativeFigures


def run_specs(run: Run) -> list[BaselineSpec]:
    """BUY_AND_HOLD of the run's tickers (intraday: its symbol), then INDEX when the run names one."""
    if run.mode == TradingMode.INTRADAY:
        held = (run.symbol,) if run.symbol else ()
    else:
        held = tuple((run.strategy_snapshot or {}).get("allowed_tickers") or ())
    specs = [BaselineSpec(BenchmarkKind.BUY_AND_HOLD, held)]
    if run.benchmark_symbol:
        specs.append(BaselineSpec(BenchmarkKind.INDEX, (run.benchmark_symbol,)))
    return specs


def arena_specs(arena: Arena) -> list[BaselineSpec]:
    specs = [BaselineSpec(BenchmarkKind.BUY_AND_HOLD, tuple(arena.tickers))]
    if arena.benchmark_symbol:
        specs.append(BaselineSpec(BenchmarkKind.INDEX, (arena.benchmark_symbol,)))
    return specs


# --- computing from prices ----------------------------------------------------------------------------


async def _quotes(
    symbols: Sequence[str], interval: PriceInterval, points: Sequence[ValuationPoint]
) -> list[dict[str, Quote]]:
    """The bars of each point by symbol: the point's trading date (daily) or its own bar (intraday)."""
    if not points or not symbols:
        return [{} for _ in points]
    query = PriceBar.filter(symbol__in=list(symbols), interval=interval, close__isnull=False)
    if interval == PriceInterval.DAY:
        query = query.filter(trade_date__gte=points[0].date, trade_date__lte=points[-1].date)
        key = "trade_date"
    else:
        query = query.filter(timestamp__gte=points[0].timestamp, timestamp__lte=points[-1].timestamp)
        key = "timestamp"
    found: dict[object, dict[str, Quote]] = {}
    for symbol, at, open_, close in await query.values_list("symbol", key, "open", "close"):
        found.setdefault(at, {})[symbol] = Quote(Decimal(str(open_)), Decimal(str(close)))
    return [found.get(p.date if key == "trade_date" else p.timestamp, {}) for p in points]


async def compute_baselines(
    specs: Sequence[BaselineSpec],
    cash: Decimal,
    points: Sequence[ValuationPoint],
    interval: PriceInterval,
    periods: int,
) -> list[Baseline]:
    """Each spec held from the first point's open, valued at every point; one read of the prices for all."""
    symbols = sorted({s for spec in specs for s in spec.symbols})
    quotes = await _quotes(symbols, interval, points)
    actions = await actions_between(symbols, points[0].date, points[-1].date) if points and symbols else []
    baselines = []
    for spec in specs:
        chosen = [a for a in actions if a.symbol in spec.symbols]
        held = hold_curve(cash, spec.symbols, points, quotes, chosen)
        values = [
            HeldValue(p.date, p.timestamp, p.value.quantize(QUANTUM), p.cash.quantize(QUANTUM)) for p in held.points
        ]
        baselines.append(Baseline(spec, cash, values, len(held.purchases), held.dividends.quantize(QUANTUM), periods))
    return baselines


async def index_covers(symbol: str, interval: PriceInterval, first: ValuationPoint, last: ValuationPoint) -> bool:
    """Whether the symbol has a complete bar at a run's first and last close, so it can be held throughout."""
    query = PriceBar.filter(symbol=symbol, interval=interval, close__isnull=False)
    if interval == PriceInterval.DAY:
        wanted = {first.date, last.date}
        found = await query.filter(trade_date__in=list(wanted)).values_list("trade_date", flat=True)
    else:
        wanted = {first.timestamp, last.timestamp}
        found = await query.filter(timestamp__in=list(wanted)).values_list("timestamp", flat=True)
    return wanted <= set(found)


# --- runs ---------------------------------------------------------------------------------------------


async def _run_curve(run: Run) -> list[tuple[ValuationPoint, Decimal]]:
    rows = await EquityPoint.filter(run_id=run.id).order_by("timestamp").values_list("date", "timestamp", "value")
    return [(ValuationPoint(day, at), Decimal(value)) for day, at, value in rows]


def _against(run_cash: Decimal, curve: Sequence[tuple[ValuationPoint, Decimal]], baseline: Baseline) -> RunBaseline:
    relative = relative_performance(
        float(run_cash),
        [float(value) for _, value in curve],
        float(baseline.initial_value),
        [float(p.value) for p in baseline.points],
        baseline.periods_per_year,
    )
    return RunBaseline(baseline, relative)


async def run_baselines(run: Run) -> list[RunBaseline]:
    """The run's baselines with its figures against each: stored ones once it has ended, else from prices."""
    curve = await _run_curve(run)
    cash = await initial_cash(run)
    stored = await _stored(BenchmarkCurve.filter(run_id=run.id), run_periods_per_year(run))
    specs = run_specs(run)
    if not _matches(stored, specs, len(curve)):
        points = [point for point, _ in curve]
        stored = await compute_baselines(
            specs, cash, points, PriceInterval(run.bar_interval), run_periods_per_year(run)
        )
    return [_against(cash, curve, baseline) for baseline in stored]


async def store_run_baselines(run: Run) -> None:
    """Stores the ended run's baseline curves (again: a resumed run that ends twice keeps the latest)."""
    curve = await _run_curve(run)
    specs = run_specs(run)
    baselines = await compute_baselines(
        specs,
        await initial_cash(run),
        [p for p, _ in curve],
        PriceInterval(run.bar_interval),
        run_periods_per_year(run),
    )
    await _store(baselines, run_id=run.id)


# --- arenas -------------------------------------------------------------------------------------------


async def arena_points(run_ids: Sequence[int]) -> list[ValuationPoint]:
    """The trading days on any member's curve, each at its earliest timestamp among them."""
    rows = await EquityPoint.filter(run_id__in=list(run_ids)).values_list("date", "timestamp")
    first: dict[dt.date, dt.datetime] = {}
    for day, at in rows:
        first[day] = min(at, first.get(day, at))
    return [ValuationPoint(day, at) for day, at in sorted(first.items())]


async def arena_baselines(arena: Arena, run_ids: Sequence[int]) -> list[Baseline]:
    """The arena's baselines: stored once it has ended, else computed over its members' closes so far."""
    points = await arena_points(run_ids)
    stored = await _stored(BenchmarkCurve.filter(arena_id=arena.id), TRADING_DAYS_PER_YEAR)
    specs = arena_specs(arena)
    if arena.ended_at is not None and _matches(stored, specs, len(points)):
        return stored
    return await compute_baselines(specs, Decimal(arena.initial_cash), points, PriceInterval.DAY, TRADING_DAYS_PER_YEAR)


async def store_arena_baselines(arena: Arena, run_ids: Sequence[int]) -> None:
    points = await arena_points(run_ids)
    baselines = await compute_baselines(
        arena_specs(arena), Decimal(arena.initial_cash), points, PriceInterval.DAY, TRADING_DAYS_PER_YEAR
    )
    await _store(baselines, arena_id=arena.id)


# --- storage ------------------------------------------------------------------------------------------


def _matches(stored: Sequence[Baseline], specs: Sequence[BaselineSpec], points: int) -> bool:
    """Whether stored curves are the current ones: the same baselines, valued at as many closes as the run."""
    return bool(stored) and [b.spec for b in stored] == list(specs) and all(len(b.points) == points for b in stored)


async def _stored(query, periods: int) -> list[Baseline]:
    rows = await query.order_by("id")
    return [
        Baseline(
            BaselineSpec(BenchmarkKind(row.kind), tuple(row.symbols)),
            Decimal(row.initial_value),
            [
                HeldValue(dt.date.fromisoformat(day), dt.datetime.fromisoformat(at), Decimal(value), Decimal(cash))
                for at, day, value, cash in row.points
            ],
            row.purchases,
            Decimal(row.dividends),
            periods,
        )
        for row in rows
    ]


async def _store(baselines: Sequence[Baseline], **owner: int) -> None:
    async with in_transaction() as connection:
        await BenchmarkCurve.filter(**owner).using_db(connection).delete()
        await BenchmarkCurve.bulk_create(
            [
                BenchmarkCurve(
                    **owner,
                    kind=b.spec.kind,
                    symbols=list(b.spec.symbols),
                    label=b.spec.label,
                    initial_value=b.initial_value,
                    purchases=b.purchases,
                    dividends=b.dividends,
                    points=[[p.timestamp.isoformat(), p.date.isoformat(), str(p.value), str(p.cash)] for p in b.points],
                )
                for b in baselines
            ],
            using_db=connection,
        )
