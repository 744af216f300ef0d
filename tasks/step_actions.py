"""The splits and dividends a run's step applies at its open, before the agent's turn.

Daily step D applies every action of a held symbol with an ex-date after the previous step's day and up to D
(an ex-date on a day the run does not step through is applied at the next step's open); an intraday session
applies its day's actions before its first bar. Each is applied once (db_models/ledger_actions.py), so a step
that is resumed finds its actions already applied and applies none again. The actions of the run's tickers
over its dates are read once per run (RunActions), not once per step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from db_models.corporate_actions import Action, actions_between
from db_models.ledger import current_portfolio
from db_models.ledger_actions import AppliedAction, apply_corporate_action
from db_models.market import PriceInterval
from db_models.runs import Run, TradingMode
from tasks.schedule import Step, opens_at


class RunActions:
    """The splits and dividends of a run's tickers between its first and last step, read once."""

    def __init__(self, symbols: Iterable[str], actions: list[Action]) -> None:
        self._symbols = frozenset(symbols)
        self._actions = actions  # in the order they apply

    @classmethod
    async def load(cls, symbols: Iterable[str], steps: list[Step]) -> RunActions:
        symbols = sorted(set(symbols))
        if not symbols or not steps:
            return cls(symbols, [])
        return cls(symbols, await actions_between(symbols, steps[0].day, steps[-1].day))

    async def between(self, held: Collection[str], first: dt.date, last: dt.date) -> list[Action]:
        """The actions of the held symbols with first <= ex-date <= last, in the order they apply."""
        if not self._symbols.issuperset(held):  # a symbol the run was not loaded for: ask the database
            return await actions_between(held, first, last)
        return [a for a in self._actions if a.symbol in held and first <= a.ex_date <= last]


def _window(run: Run, steps: list[Step], index: int) -> tuple[dt.date, dt.date] | None:
    """The ex-dates (first, last) the step at `index` applies, or None when it applies none."""
    step = steps[index]
    if run.mode == TradingMode.INTRADAY:
        return (step.day, step.day) if index == 0 else None
    first = steps[index - 1].day + dt.timedelta(days=1) if index else step.day
    return first, step.day


async def apply_step_actions(
    run: Run,
    steps: list[Step],
    index: int,
    *,
    held: Collection[str] | None = None,
    known: RunActions | None = None,
) -> list[AppliedAction]:
    """Applies the step's splits and dividends at its open; returns those applied now, in order.

    The run loop passes the symbols it knows are `held` and the run's actions it loaded (`known`); without
    them both are read from the database."""
    window = _window(run, steps, index)
    if window is None:
        return []
    if held is None:
        held = (await current_portfolio(run)).holdings
    if not held:
        return []
    actions = await (known.between(held, *window) if known else actions_between(held, *window))
    if not actions:
        return []
    step = steps[index]
    symbols = sorted({a.symbol for a in actions})
    opens = await opens_at(symbols, PriceInterval(run.bar_interval), step.clock_at, step.day)
    applied = []
    for action in actions:
        done = await apply_corporate_action(run, action, timestamp=step.clock_at, open_price=opens.get(action.symbol))
        if done is not None:
            applied.append(done)
    return applied
