"""DataLoaders of runs: what a page of runs needs, in a fixed number of queries whatever the page size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from db_models.ledger import initial_cash
from db_models.metrics import PerformanceFigures, TradeRecord, compute_performance, run_periods_per_year
from db_models.runs import EquityPoint, Position, Run
from db_models.trading import TradingModel

TRADE_FIGURES = frozenset({"winRate", "totalTrades", "totalFees", "totalDividends"})


def asks_for_trade_figures(info: Info) -> bool:
    """Whether the selection under a Performance field names a figure made from the run's actions
    (a fragment counts as yes)."""
    return any(
        not isinstance(selection, SelectedField) or selection.name in TRADE_FIGURES
        for field in info.selected_fields
        for selection in field.selections
    )


async def performance_by_run(runs: Sequence[Run]) -> list[PerformanceFigures | None]:
    """Each run's figures, equal to db_models.metrics.run_performance's: the equity points of every run
    in one query, their actions in another, and the models' cash only for runs whose snapshot lacks it."""
    return await _performance(runs, with_trades=True)


async def curve_performance_by_run(runs: Sequence[Run]) -> list[PerformanceFigures | None]:
    """As performance_by_run without reading the runs' actions, for queries that ask for no figure made
    from them: every figure equals run_performance's except win_rate (None), total_trades, total_fees and
    total_dividends (0)."""
    return await _performance(runs, with_trades=False)


async def _performance(runs: Sequence[Run], *, with_trades: bool) -> list[PerformanceFigures | None]:
    ids = list({run.id for run in runs})
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
    need_model_cash = {
        run.model_id for run in runs if curves.get(run.id) and (run.strategy_snapshot or {}).get("initial_cash") is None
    }
    model_cash = (
        dict(await TradingModel.filter(id__in=list(need_model_cash)).values_list("id", "initial_cash"))
        if need_model_cash
        else {}
    )

    figures: dict[int, PerformanceFigures | None] = {}
    for run in runs:
        if run.id in figures:
            continue
        curve = curves.get(run.id)
        if not curve:
            figures[run.id] = None
            continue
        from_snapshot = (run.strategy_snapshot or {}).get("initial_cash") is not None
        cash = await initial_cash(run) if from_snapshot else model_cash[run.model_id]  # the former sends no query
        figures[run.id] = compute_performance(cash, curve, trades[run.id], run_periods_per_year(run))
    return [figures[run.id] for run in runs]
