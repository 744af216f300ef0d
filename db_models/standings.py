"""An arena's standings: its member runs ranked by total return, each beside the arena's baselines.

Live while the arena runs: each member is measured up to its own latest close, and its excess return is
over the baseline's return up to that same close, so a member that is ahead in time gains no edge.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.functions import Max

from db_models.baselines import Baseline
from db_models.metrics import PerformanceFigures
from db_models.runs import BenchmarkKind, EquityPoint, Run


@dataclass(frozen=True)
class Standing:
    rank: int
    run: Run
    figures: PerformanceFigures | None  # None before the run's first close
    excess_return: float | None  # over the arena's buy-and-hold baseline
    excess_return_over_index: float | None


def _return_until(baseline: Baseline | None, day: dt.date | None) -> float | None:
    if baseline is None or day is None:
        return None
    values = {p.date: p.value for p in baseline.points}
    return None if day not in values else float(values[day] / baseline.initial_value - 1)


def rank_by_return(returns: Sequence[float | None]) -> list[int]:
    """Competition ranks (1, 2, 2, 4) by return, highest first; a missing return ranks after every known one."""
    keys = [(1, 0.0) if r is None else (0, -r) for r in returns]
    return [1 + sum(1 for other in keys if other < key) for key in keys]


async def compute_standings(
    runs: Sequence[Run], figures: Sequence[PerformanceFigures | None], baselines: Sequence[Baseline]
) -> list[Standing]:
    """The members in rank order (ties by creation), with their figures (one per run, in the same order:
    db_models.metrics.run_performance's) and excess returns."""
    last_rows = (
        await EquityPoint.filter(run_id__in=[r.id for r in runs])
        .group_by("run_id")
        .annotate(last=Max("date"))
        .values_list("run_id", "last")
    )
    # SQLite answers the aggregate of a date column as text.
    last_day = {run_id: dt.date.fromisoformat(day) if isinstance(day, str) else day for run_id, day in last_rows}
    by_kind = {b.spec.kind: b for b in baselines}
    standings = []
    ranks = rank_by_return([None if f is None else f.total_return for f in figures])
    for rank, run, figure in zip(ranks, runs, figures, strict=True):
        day = last_day.get(run.id)
        excess = {}
        for kind in (BenchmarkKind.BUY_AND_HOLD, BenchmarkKind.INDEX):
            held = _return_until(by_kind.get(kind), day)
            excess[kind] = None if figure is None or held is None else figure.total_return - held
        standings.append(Standing(rank, run, figure, excess[BenchmarkKind.BUY_AND_HOLD], excess[BenchmarkKind.INDEX]))
    return sorted(standings, key=lambda s: (s.rank, s.run.id))
