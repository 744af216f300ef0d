"""Split- and dividend-adjusted prices, made with hindsight: for charts and comparisons, never for a run's agent.

Every stored action of the symbol counts, including those after the bars asked for: a bar on day t is scaled
by the product, over the actions with an ex-date after t, of
- 1 / ratio for a split (a 2-for-1 halves every earlier price), and
- 1 − amount / (the last daily close before the ex-date) for a dividend (the usual total-return adjustment;
  a dividend with no daily close in the ten days before it is left out),
so that returns across ex-dates are total returns and the latest prices stay as traded. Volumes are scaled by
the split ratios instead (a 2-for-1 doubles every earlier volume).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from db_models.corporate_actions import Action, actions_between
from db_models.market import PriceBar, PriceInterval

PRICE_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class PriceAdjustment:
    """Cumulative factors by ex-date: a bar before ex_dates[i] (on or after ex_dates[i-1]) takes price_factors[i]."""

    ex_dates: tuple[dt.date, ...] = ()
    price_factors: tuple[Decimal, ...] = (Decimal(1),)  # one more than ex_dates: the last is for the latest bars
    volume_factors: tuple[Decimal, ...] = (Decimal(1),)

    def _index(self, day: dt.date) -> int:
        return bisect_right(self.ex_dates, day)

    def price(self, value: Decimal | None, day: dt.date) -> Decimal | None:
        return None if value is None else (value * self.price_factors[self._index(day)]).quantize(PRICE_QUANTUM)

    def volume(self, value: float | None, day: dt.date) -> float | None:
        return None if value is None else float(Decimal(str(value)) * self.volume_factors[self._index(day)])


def _one_factor(action: Action, previous_close: Decimal | None) -> tuple[Decimal, Decimal]:
    """(price factor, volume factor) of one action for every bar before its ex-date."""
    if action.ratio is not None:
        ratio = action.exact_ratio
        return Decimal(ratio.denominator) / Decimal(ratio.numerator), Decimal(ratio.numerator) / ratio.denominator
    if previous_close is None or previous_close <= action.amount:
        return Decimal(1), Decimal(1)  # no close to measure the dividend against: left unadjusted
    return 1 - action.amount / previous_close, Decimal(1)


def build_adjustment(actions: Sequence[Action], previous_closes: dict[dt.date, Decimal]) -> PriceAdjustment:
    """The factors of `actions` (one symbol's, any order); previous_closes[ex-date] is the close before it."""
    by_date: dict[dt.date, tuple[Decimal, Decimal]] = {}
    for action in actions:
        price, volume = _one_factor(action, previous_closes.get(action.ex_date))
        before = by_date.get(action.ex_date, (Decimal(1), Decimal(1)))
        by_date[action.ex_date] = (before[0] * price, before[1] * volume)
    ex_dates = sorted(by_date)
    price_factors, volume_factors = [Decimal(1)], [Decimal(1)]
    for ex_date in reversed(ex_dates):  # cumulative from the latest ex-date backwards
        price_factors.append(price_factors[-1] * by_date[ex_date][0])
        volume_factors.append(volume_factors[-1] * by_date[ex_date][1])
    return PriceAdjustment(tuple(ex_dates), tuple(reversed(price_factors)), tuple(reversed(volume_factors)))


# A dividend's previous close is looked for this many calendar days before its ex-date (weekends, holidays).
LOOK_BACK_DAYS = 10


async def _closes_before(symbol: str, days: set[dt.date]) -> dict[dt.date, Decimal]:
    """For each day, the last daily close in the LOOK_BACK_DAYS before it, read in one query."""
    candidates = {day - dt.timedelta(days=back) for day in days for back in range(1, LOOK_BACK_DAYS + 1)}
    rows = await PriceBar.filter(
        symbol=symbol, interval=PriceInterval.DAY, trade_date__in=sorted(candidates), close__isnull=False
    ).values_list("trade_date", "close")
    closes = dict(rows)
    found = {}
    for day in days:
        earlier = [d for d in closes if d < day]
        if earlier:
            found[day] = closes[max(earlier)]
    return found


async def load_adjustment(symbol: str) -> PriceAdjustment:
    """The adjustment of every action stored for the symbol."""
    actions = await actions_between([symbol])
    dividends = {a.ex_date for a in actions if a.amount is not None}
    return build_adjustment(actions, await _closes_before(symbol, dividends) if dividends else {})
