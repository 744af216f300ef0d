"""Splits and cash dividends: stored per symbol and ex-date, read back for a range, derived from adjusted closes.

Every source of prices can bring actions: the shipped daily prices (derived here from their adjusted
closes), imported files and fetched series (which state them outright). One action per symbol, ex-date
and kind; storing it again replaces its ratio or amount and source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from itertools import pairwise

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from db_models.market import CorporateAction, CorporateActionKind

CENT = Decimal("0.01")
# A day-over-day change of the adjustment factor smaller than this is rounding in the source, not an event.
FACTOR_NOISE = 1e-4
# A factor change within this relative distance of a split ratio is that split...
SPLIT_TOLERANCE = 0.005
# ...when the price itself moved by about the inverse ratio (a 2-for-1 split halves the price, give or take
# a quarter): a large special dividend can mimic a ratio, but it does not halve the price.
SPLIT_PRICE_BAND = (0.75, 1.33)
# A stored ratio (six decimal places) is read back as the nearest fraction with at most this denominator.
MAX_RATIO_DENOMINATOR = 100


def _split_ratios() -> tuple[Fraction, ...]:
    """n-for-m forward splits and m-for-n reverse splits with m up to 4 and n up to 20 (2, 3/2, 5/4, 1/10, ...)."""
    ratios = set()
    for small in range(1, 5):
        for large in range(small + 1, 21):
            ratios.update({Fraction(large, small), Fraction(small, large)})
    return tuple(sorted(ratios))


SPLIT_RATIOS = _split_ratios()


@dataclass(frozen=True)
class Action:
    """A split (ratio: new shares per old share) or a cash dividend (amount per share), at the ex-date's open."""

    symbol: str
    ex_date: dt.date
    kind: CorporateActionKind
    ratio: Decimal | None = None
    amount: Decimal | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind is CorporateActionKind.SPLIT and (self.ratio is None or self.ratio <= 0 or self.ratio == 1):
            raise ValueError(f"A split needs a positive ratio other than 1, not {self.ratio}.")
        if self.kind is CorporateActionKind.DIVIDEND and (self.amount is None or self.amount <= 0):
            raise ValueError(f"A dividend needs an amount per share above zero, not {self.amount}.")

    @property
    def exact_ratio(self) -> Fraction:
        """The split's ratio as the fraction it stands for: 0.333333 is 1/3 (a 1-for-3 reverse split), 1.5 is 3/2."""
        if self.ratio is None:
            raise ValueError("A dividend has no split ratio.")
        return Fraction(self.ratio).limit_denominator(MAX_RATIO_DENOMINATOR)

    @property
    def ratio_words(self) -> str:
        """'2-for-1', '3-for-2', '1-for-10'."""
        ratio = self.exact_ratio
        return f"{ratio.numerator}-for-{ratio.denominator}"

    @classmethod
    def split(cls, symbol: str, ex_date: dt.date, ratio: Decimal, source: str) -> Action:
        return cls(symbol, ex_date, CorporateActionKind.SPLIT, ratio=ratio, source=source)

    @classmethod
    def dividend(cls, symbol: str, ex_date: dt.date, amount: Decimal, source: str) -> Action:
        return cls(symbol, ex_date, CorporateActionKind.DIVIDEND, amount=amount, source=source)

    @classmethod
    def from_columns(cls, symbol: str, ex_date: dt.date, dividend: object, split: object, source: str) -> list[Action]:
        """The actions a price row states in a dividend column (cash per share; empty or 0: none) and a split
        column (new shares per old share as a number or N:M, e.g. 2, 1.5, 3:2, 1:10; empty or 1: none).
        Raises ValueError naming the column."""
        actions = []
        amount = _column_number(dividend, "dividend")
        if amount is not None and amount != 0:
            if amount < 0:
                raise ValueError(f"dividend must be >= 0, got {dividend}")
            actions.append(cls.dividend(symbol, ex_date, amount, source))
        ratio = _split_ratio(split)
        if ratio is not None and ratio != 1:
            actions.append(cls.split(symbol, ex_date, ratio, source))
        return actions

    @classmethod
    def from_row(cls, row: CorporateAction) -> Action:
        return cls(row.symbol, row.ex_date, CorporateActionKind(row.kind), row.ratio, row.amount, row.source)


# The largest ratio or amount a file may state (the column holds 14 integer digits).
_MAX_COLUMN_VALUE = Decimal("1e9")
RATIO_QUANTUM = Decimal("0.000001")


def _column_number(raw: object, name: str) -> Decimal | None:
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{name} {raw!r} is not a number") from None
    if not value.is_finite() or abs(value) >= _MAX_COLUMN_VALUE:
        raise ValueError(f"{name} {raw!r} is not a plausible number")
    return value.quantize(RATIO_QUANTUM)


def _split_ratio(raw: object) -> Decimal | None:
    """A split column's ratio: '2', '1.5', '3:2' or '3/2' (new:old)."""
    text = "" if raw is None else str(raw).strip()
    for separator in (":", "/"):
        if separator in text:
            new, _, old = text.partition(separator)
            new_shares, old_shares = _column_number(new, "split"), _column_number(old, "split")
            if not new_shares or not old_shares or new_shares < 0 or old_shares < 0:
                raise ValueError(f"split {raw!r} must be N:M with N and M above zero")
            return (new_shares / old_shares).quantize(RATIO_QUANTUM)
    ratio = _column_number(text, "split")
    if ratio is not None and ratio <= 0:
        raise ValueError(f"split {raw!r} must be above zero (new shares per old share)")
    return ratio


@dataclass(frozen=True)
class AdjustedClose:
    """One day of a symbol as a source that adjusts its history gives it: the close as traded and adjusted."""

    day: dt.date
    close: float
    adjusted_close: float


def _nearest_split(change: float, price_move: float) -> Fraction | None:
    for ratio in SPLIT_RATIOS:
        if abs(change / float(ratio) - 1) <= SPLIT_TOLERANCE:
            low, high = SPLIT_PRICE_BAND
            return ratio if low <= price_move * float(ratio) <= high else None
    return None


def derive_actions(symbol: str, days: Sequence[AdjustedClose], source: str) -> list[Action]:
    """The splits and dividends that explain a series of closes against its split- and dividend-adjusted closes.

    The adjustment factor close / adjusted close is constant between events and changes on an ex-date by
    `change` = factor before / factor on the day. A change near a simple ratio, with the price moving by about
    its inverse, is a split of that ratio; any other change is a dividend of prev_close × (1 − 1/change)
    (the usual adjustment, solved for the amount), rounded to the cent.
    """
    ordered = sorted((d for d in days if d.close > 0 and d.adjusted_close > 0), key=lambda d: d.day)
    actions: list[Action] = []
    for before, today in pairwise(ordered):
        change = (before.close / before.adjusted_close) / (today.close / today.adjusted_close)
        if abs(change - 1) < FACTOR_NOISE:
            continue
        ratio = _nearest_split(change, today.close / before.close)
        if ratio is not None:
            value = (Decimal(ratio.numerator) / Decimal(ratio.denominator)).quantize(Decimal("0.000001"))
            actions.append(Action.split(symbol, today.day, value, source))
            continue
        amount = (Decimal(str(before.close)) * Decimal(str(1 - 1 / change))).quantize(CENT, ROUND_HALF_UP)
        if amount > 0:
            actions.append(Action.dividend(symbol, today.day, amount, source))
    return actions


async def store_actions(
    actions: Iterable[Action], *, overwrite: bool = True, connection: BaseDBAsyncClient | None = None
) -> int:
    """Upserts actions by (symbol, ex-date, kind) in one transaction (overwrite=False keeps what is stored), or
    inside the caller's `connection` (a transaction that also writes the prices they came with); returns how
    many were new. Every source of actions (the shipped prices, imported files, fetched series) stores them here."""
    rows = {(a.symbol, a.ex_date, a.kind): a for a in actions}
    if not rows:
        return 0
    if connection is None:
        async with in_transaction() as own:
            return await _upsert(rows, overwrite, own)
    return await _upsert(rows, overwrite, connection)


async def _upsert(rows: dict[tuple, Action], overwrite: bool, connection: BaseDBAsyncClient) -> int:
    before = await CorporateAction.all().using_db(connection).count()
    models = [
        CorporateAction(
            symbol=a.symbol, ex_date=a.ex_date, kind=a.kind, ratio=a.ratio, amount=a.amount, source=a.source
        )
        for a in rows.values()
    ]
    if overwrite:
        await CorporateAction.bulk_create(
            models,
            on_conflict=("symbol", "ex_date", "kind"),
            update_fields=("ratio", "amount", "source"),
            using_db=connection,
        )
    else:
        await CorporateAction.bulk_create(models, ignore_conflicts=True, using_db=connection)
    return await CorporateAction.all().using_db(connection).count() - before


# On one ex-date a dividend is paid on the shares held before the open, then the split applies.
_ORDER_IN_A_DAY = {CorporateActionKind.DIVIDEND: 0, CorporateActionKind.SPLIT: 1}


async def actions_between(
    symbols: Iterable[str], start: dt.date | None = None, end: dt.date | None = None
) -> list[Action]:
    """The actions of these symbols with start <= ex-date <= end (either bound open), in the order they apply."""
    query = CorporateAction.filter(symbol__in=sorted(set(symbols)))
    if start is not None:
        query = query.filter(ex_date__gte=start)
    if end is not None:
        query = query.filter(ex_date__lte=end)
    actions = [Action.from_row(row) for row in await query]
    return sorted(actions, key=lambda a: (a.ex_date, a.symbol, _ORDER_IN_A_DAY[a.kind]))
