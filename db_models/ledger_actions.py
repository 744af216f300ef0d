"""Splits and cash dividends applied to a run's portfolio at the ex-date's open, each as a position row of its own.

- A split of ratio r (new shares per old share, read as the exact fraction it stands for: 3/2, 1/10) turns h
  shares into floor(h × r). The fractional share left over is paid in cash at the open the split is applied at,
  rounded half-up to the cent (cash in lieu, as brokers pay it), on the same row.
- A dividend of d per share credits h × d to cash.

The row: action SPLIT or DIVIDEND, the symbol, amount = h (the shares the action affects, held before it),
price = r or d, date = the ex-date, timestamp = the open it is applied at, and the holdings and cash after it.
A symbol the run does not hold gets no row. Applying is idempotent: a run holds at most one row per symbol,
ex-date and kind, so a step that is resumed or retried never applies an action twice.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from tortoise.transactions import in_transaction

from db_models.corporate_actions import Action
from db_models.costs import CENT
from db_models.ledger import Portfolio, locked_portfolio
from db_models.market import CorporateActionKind
from db_models.runs import ActionType, Position, Run


@dataclass(frozen=True)
class AppliedAction:
    position: Position
    message: str  # a sentence for the run's event, e.g. "AAPL split 2-for-1 at the 2005-02-28 open: ..."


def _amount(value: Decimal) -> str:
    return format(value.quantize(CENT) if value == value.quantize(CENT) else value.normalize(), "f")


def _share_words(fraction: Fraction) -> str:
    """1/2 -> '0.5', 1/3 -> '1/3'."""
    decimal = Decimal(fraction.numerator) / Decimal(fraction.denominator)
    short = decimal.quantize(Decimal("0.0001"))
    return format(short.normalize(), "f") if Fraction(short) == fraction else f"{fraction}"


def _split(action: Action, portfolio: Portfolio, held: int, open_price: Decimal | None) -> tuple[Portfolio, str]:
    ratio = action.exact_ratio
    exact = held * ratio
    whole = math.floor(exact)
    left_over = exact - whole
    holdings = dict(portfolio.holdings)
    holdings[action.symbol] = whole
    message = f"{action.symbol} split {action.ratio_words} at the {action.ex_date.isoformat()} open: {held} "
    message += f"{'share' if held == 1 else 'shares'} became {whole}"
    cash = portfolio.cash
    if left_over:
        if open_price is None:
            raise ValueError(f"No open price of {action.symbol} to pay the fractional share of its split in cash.")
        fraction = Decimal(left_over.numerator) / Decimal(left_over.denominator)
        in_lieu = (fraction * open_price).quantize(CENT, ROUND_HALF_UP)
        cash += in_lieu
        message += (
            f"; the {_share_words(left_over)} share left over was paid in cash at the open, "
            f"{_amount(open_price)}: {_amount(in_lieu)}"
        )
    held_after = {s: n for s, n in sorted(holdings.items()) if n > 0}
    return Portfolio(cash=cash, holdings=held_after), message + "."


def _dividend(action: Action, portfolio: Portfolio, held: int) -> tuple[Portfolio, str]:
    paid = held * action.amount
    message = (
        f"{action.symbol} paid a dividend of {_amount(action.amount)} a share (ex-date "
        f"{action.ex_date.isoformat()}) on {held} {'share' if held == 1 else 'shares'}: {_amount(paid)} to cash."
    )
    return Portfolio(cash=portfolio.cash + paid, holdings=dict(portfolio.holdings)), message


async def apply_corporate_action(
    run: Run, action: Action, *, timestamp: dt.datetime, open_price: Decimal | None = None
) -> AppliedAction | None:
    """Applies one split or dividend to the run's portfolio at `timestamp` (the open it takes effect at);
    `open_price` (the symbol's open there) pays a split's fractional share. None when the run does not hold
    the symbol or has applied this action already."""
    kind = ActionType(str(action.kind))
    async with in_transaction() as connection:
        portfolio, last_id = await locked_portfolio(run, connection)
        held = portfolio.holdings.get(action.symbol, 0)
        if held <= 0:
            return None
        applied = (
            await Position.filter(run_id=run.id, action=kind, symbol=action.symbol, date=action.ex_date)
            .using_db(connection)
            .exists()
        )
        if applied:
            return None
        if action.kind is CorporateActionKind.SPLIT:
            after, message = _split(action, portfolio, held, open_price)
            price = action.ratio
        else:
            after, message = _dividend(action, portfolio, held)
            price = action.amount
        position = await Position.create(
            run_id=run.id,
            action_id=last_id + 1,
            date=action.ex_date,
            timestamp=timestamp,
            action=kind,
            symbol=action.symbol,
            amount=held,
            price=price,
            holdings=after.holdings,
            cash=after.cash,
            using_db=connection,
        )
    return AppliedAction(position, message)
