"""The splits and dividends a run's step applies at its open, before the agent's turn.

Daily step D applies every action of a held symbol with an ex-date after the previous step's day and up to D
(an ex-date on a day the run does not step through is applied at the next step's open); an intraday session
applies its day's actions before its first bar. Each is applied once (db_models/ledger_actions.py), so a step
that is resumed finds its actions already applied and applies none again.
"""

from __future__ import annotations

import datetime as dt

from db_models.corporate_actions import actions_between
from db_models.ledger import current_portfolio
from db_models.ledger_actions import AppliedAction, apply_corporate_action
from db_models.market import PriceInterval
from db_models.runs import Run, TradingMode
from tasks.schedule import Step, opens_at


def _window(run: Run, steps: list[Step], index: int) -> tuple[dt.date, dt.date] | None:
    """The ex-dates (first, last) the step at `index` applies, or None when it applies none."""
    step = steps[index]
    if run.mode == TradingMode.INTRADAY:
        return (step.day, step.day) if index == 0 else None
    first = steps[index - 1].day + dt.timedelta(days=1) if index else step.day
    return first, step.day


async def apply_step_actions(run: Run, steps: list[Step], index: int) -> list[AppliedAction]:
    """Applies the step's splits and dividends at its open; returns those applied now, in order."""
    window = _window(run, steps, index)
    if window is None:
        return []
    held = (await current_portfolio(run)).holdings
    if not held:
        return []
    actions = await actions_between(held, *window)
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
