"""A frictionless buy-and-hold: the initial cash split equally over some symbols, bought at one open, held.

The baseline every run is measured against. Fractional shares and no costs, so the baseline's return is
what the market gave, nothing more. A symbol without a bar at the first point is bought at its first
open later on (its part waits as cash until then); a symbol without a close at a point is valued at its
last close. Corporate actions apply at the open of the first point on or after their ex-date, before
any purchase at that open: a split multiplies the shares by its ratio, a dividend pays shares × amount
in cash (kept as cash, not reinvested).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from db_models.corporate_actions import Action
from db_models.market import CorporateActionKind


@dataclass(frozen=True)
class Quote:
    """One symbol's bar at one valuation point: bought at its open, valued at its close."""

    open: Decimal
    close: Decimal


@dataclass(frozen=True)
class ValuationPoint:
    """A close at which the baseline is valued: the same timestamps as the run's own equity curve."""

    date: dt.date
    timestamp: dt.datetime


@dataclass(frozen=True)
class HeldValue:
    date: dt.date
    timestamp: dt.datetime
    value: Decimal
    cash: Decimal


@dataclass(frozen=True)
class Purchase:
    symbol: str
    date: dt.date
    price: Decimal
    shares: Decimal


@dataclass(frozen=True)
class HoldResult:
    points: list[HeldValue]
    purchases: list[Purchase]
    dividends: Decimal  # the cash the holding's dividends paid


def hold_curve(
    initial_cash: Decimal,
    symbols: Sequence[str],
    points: Sequence[ValuationPoint],
    quotes: Sequence[Mapping[str, Quote]],
    actions: Sequence[Action] = (),
) -> HoldResult:
    """The baseline's value at each point; quotes[i] holds the bars of points[i] by symbol.

    Actions must be in the order they apply (db_models.corporate_actions.actions_between gives that)."""
    if len(quotes) != len(points):
        raise ValueError(f"{len(points)} valuation points but quotes for {len(quotes)}.")
    cash = Decimal(initial_cash)
    part = cash / len(symbols) if symbols else Decimal(0)
    shares: dict[str, Decimal] = {}
    last_close: dict[str, Decimal] = {}
    purchases: list[Purchase] = []
    pending = list(actions)
    curve: list[HeldValue] = []
    dividends = Decimal(0)
    for point, bars in zip(points, quotes, strict=True):
        while pending and pending[0].ex_date <= point.date:
            paid = _apply(pending.pop(0), shares)
            cash, dividends = cash + paid, dividends + paid
        for symbol in symbols:
            bar = bars.get(symbol)
            if symbol in shares or bar is None or bar.open <= 0:
                continue
            shares[symbol] = part / bar.open
            cash -= part
            purchases.append(Purchase(symbol, point.date, bar.open, shares[symbol]))
        for symbol, bar in bars.items():
            last_close[symbol] = bar.close
        value = cash + sum((n * last_close[s] for s, n in shares.items()), Decimal(0))
        curve.append(HeldValue(point.date, point.timestamp, value, cash))
    return HoldResult(curve, purchases, dividends)


def _apply(action: Action, shares: dict[str, Decimal]) -> Decimal:
    """Applies one action to the shares held; returns the cash it pays."""
    held = shares.get(action.symbol)
    if held is None:
        return Decimal(0)
    if action.kind is CorporateActionKind.SPLIT:
        shares[action.symbol] = held * action.ratio
        return Decimal(0)
    return held * action.amount
