"""Figures of finished runs, kept in memory: a COMPLETED run's equity curve and actions never change, so its
figures are made once per process instead of on every page that shows the run.

An entry is served only while the run still looks as it did when the figures were made: the same run
(its creation and end times, which another database reusing the id would not share) and the same initial
cash (a run whose snapshot lacks it counts its model's, which an edit of the model may change). Deleting
a run or a model forgets its entries; a bounded size keeps the memory flat.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, replace
from decimal import Decimal

from db_models.metrics import PerformanceFigures
from db_models.runs import Run, RunStatus

MAX_RUNS = 20_000  # a few hundred bytes each


def without_trade_figures(figures: PerformanceFigures) -> PerformanceFigures:
    """The figures as made from the curve alone: those made from the actions blank."""
    return replace(figures, win_rate=None, total_trades=0, total_fees=0.0, total_dividends=0.0)


@dataclass(frozen=True)
class _Entry:
    model_id: int
    stamp: tuple[dt.datetime, dt.datetime | None, Decimal]
    figures: PerformanceFigures
    with_trades: bool  # False: the figures made from the actions (win rate, trades, fees, dividends) are blank


class FinishedRunFigures:
    def __init__(self, max_runs: int = MAX_RUNS) -> None:
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._max_runs = max_runs

    @staticmethod
    def _stamp(run: Run, cash: Decimal) -> tuple[dt.datetime, dt.datetime | None, Decimal]:
        return (run.created_at, run.ended_at, cash)

    def get(self, run: Run, cash: Decimal, *, with_trades: bool) -> PerformanceFigures | None:
        """The figures made earlier for this run, if it is finished and unchanged since (None: make them)."""
        entry = self._entries.get(run.id)
        if entry is None or run.status != RunStatus.COMPLETED or entry.stamp != self._stamp(run, cash):
            return None
        if with_trades and not entry.with_trades:
            return None
        self._entries.move_to_end(run.id)
        return entry.figures if with_trades or not entry.with_trades else without_trade_figures(entry.figures)

    def put(self, run: Run, cash: Decimal, figures: PerformanceFigures, *, with_trades: bool) -> None:
        """Keeps a COMPLETED run's figures; a run still going (or failed midway) may gain points later."""
        if run.status != RunStatus.COMPLETED:
            return
        self._entries[run.id] = _Entry(run.model_id, self._stamp(run, cash), figures, with_trades)
        self._entries.move_to_end(run.id)
        while len(self._entries) > self._max_runs:
            self._entries.popitem(last=False)

    def forget_run(self, run_id: int) -> None:
        self._entries.pop(run_id, None)

    def forget_model(self, model_id: int) -> None:
        for run_id in [run_id for run_id, entry in self._entries.items() if entry.model_id == model_id]:
            del self._entries[run_id]

    def __len__(self) -> int:
        return len(self._entries)


finished_run_figures = FinishedRunFigures()
