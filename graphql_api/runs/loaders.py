"""DataLoaders of runs: what a page of runs needs, in a fixed number of queries whatever the page size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from db_models.metrics import PerformanceFigures, TradeRecord, compute_performance, run_periods_per_year
from db_models.runs import EquityPoint, Position, Run
from db_models.trading import TradingModel
from graphql_api.runs.performance_cache import finished_run_figures

TRADE_FIGURES = frozenset({"winRate", "totalTrades", "totalFees", "totalDividends"})


def asks_for_trade_figures(info: Info) -> bool:
    """Whether the selection under a Performance field names a figure made from the run's actions
    (a fragment counts as yes)."""
    return any(
        not isinstance(selection, SelectedField) or selection.name in TRADE_FIGURES
        for field in info.selected_fields
        for selection in field.selections
    )


@dataclass(frozen=True)
class RunFigures:
    """A DataLoader key: a run, and its model's initial cash when the caller has the model's row at hand
    (the cash of a run whose snapshot lacks it), which spares a query."""

    run: Run
    model_cash: Decimal | None = None


async def performance_by_run(runs: Sequence[Run]) -> list[PerformanceFigures | None]:
    """Each run's figures, equal to db_models.metrics.run_performance's: the equity points of every run
    in one query, their actions in another, and the models' cash only for runs whose snapshot lacks it.
    Finished runs' figures come from graphql_api.runs.performance_cache once made."""
    return await _performance([RunFigures(run) for run in runs], with_trades=True)


async def curve_performance_by_run(runs: Sequence[Run]) -> list[PerformanceFigures | None]:
    """As performance_by_run without reading the runs' actions, for queries that ask for no figure made
    from them: every figure equals run_performance's except win_rate (None), total_trades, total_fees and
    total_dividends (0)."""
    return await _performance([RunFigures(run) for run in runs], with_trades=False)


async def figures_by_key(keys: Sequence[RunFigures]) -> list[PerformanceFigures | None]:
    """performance_by_run for keys that may carry their model's cash."""
    return await _performance(keys, with_trades=True)


async def curve_figures_by_key(keys: Sequence[RunFigures]) -> list[PerformanceFigures | None]:
    """curve_performance_by_run for keys that may carry their model's cash."""
    return await _performance(keys, with_trades=False)


def _known_cash(key: RunFigures) -> Decimal | None:
    """The run's initial cash without a query: its snapshot's, else the model's if the key has it."""
    snapshot_cash = (key.run.strategy_snapshot or {}).get("initial_cash")
    return Decimal(str(snapshot_cash)) if snapshot_cash is not None else key.model_cash


async def _performance(keys: Sequence[RunFigures], *, with_trades: bool) -> list[PerformanceFigures | None]:
    figures: dict[int, PerformanceFigures | None] = {}
    cash: dict[int, Decimal] = {}
    for key in keys:
        known = _known_cash(key)
        if known is None:
            continue
        cash[key.run.id] = known
        cached = finished_run_figures.get(key.run, known, with_trades=with_trades)
        if cached is not None:
            figures[key.run.id] = cached
    missing = {key.run.id: key.run for key in keys if key.run.id not in figures}
    if missing:
        figures.update(await _make_figures(list(missing.values()), cash, with_trades=with_trades))
    return [figures[key.run.id] for key in keys]


async def _make_figures(
    runs: Sequence[Run], cash: dict[int, Decimal], *, with_trades: bool
) -> dict[int, PerformanceFigures | None]:
    """The figures of runs not in the cache, from their points (and actions) read in one query each; `cash`
    holds the initial cash known so far and gains that of the models read here."""
    ids = [run.id for run in runs]
    curves: dict[int, list[tuple[Any, Any]]] = defaultdict(list)
    for run_id, day, value in (
        await EquityPoint.filter(run_id__in=ids).order_by("run_id", "timestamp").values_list("run_id", "date", "value")
    ):
        curves[run_id].append((day, value))
    with_points = [run_id for run_id in ids if curves.get(run_id)]
    trades: dict[int, list[TradeRecord]] = defaultdict(list)
    if with_points and with_trades:
        positions = (
            Position.filter(run_id__in=with_points)
            .order_by("run_id", "action_id")
            .values_list("run_id", *TradeRecord.COLUMNS)
        )
        for run_id, *columns in await positions:
            trades[run_id].append(TradeRecord(*columns))
    need_model_cash = {run.model_id for run in runs if curves.get(run.id) and run.id not in cash}
    if need_model_cash:
        model_cash = dict(await TradingModel.filter(id__in=list(need_model_cash)).values_list("id", "initial_cash"))
        cash.update({run.id: Decimal(str(model_cash[run.model_id])) for run in runs if run.model_id in model_cash})

    figures: dict[int, PerformanceFigures | None] = {}
    for run in runs:
        curve = curves.get(run.id)
        if not curve:
            figures[run.id] = None
            continue
        figures[run.id] = compute_performance(cash[run.id], curve, trades[run.id], run_periods_per_year(run))
        finished_run_figures.put(run, cash[run.id], figures[run.id], with_trades=with_trades)
    return figures
