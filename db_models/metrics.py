"""A run's performance figures, as docs/metrics.md defines them.

V0 is the run's initial cash and V1..Vn the portfolio value at each close; r_i = V_i / V_(i-1) - 1
(r_1 = V1 / V0 - 1); P periods a year (252 for daily runs, 252 x bars per session for intraday);
risk-free rate 0. A figure that would divide by zero is None.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

import numpy as np

from db_models.corporate_actions import MAX_RATIO_DENOMINATOR
from db_models.ledger import initial_cash
from db_models.runs import EquityPoint, Position, Run

TRADING_DAYS_PER_YEAR = 252
# A standard deviation this small is float noise around zero (a curve of equal returns).
ZERO_STD = 1e-12
SESSION_MINUTES = {"REGULAR": 390, "PRE": 330, "AFTER": 240}  # 09:30-16:00, 04:00-09:30, 16:00-20:00
INTERVAL_MINUTES = {"MINUTE": 1, "HOUR": 60}


@dataclass(frozen=True)
class TradeRecord:
    """One action of a run; Position rows have the same attributes and work as well."""

    action: str  # BUY, SELL, NO_TRADE, SPLIT or DIVIDEND
    symbol: str | None
    amount: int | None  # shares traded, or the shares a split or dividend affected
    price: Decimal | float | None  # the fill after slippage; a split's ratio; a dividend's cash per share
    fee: Decimal | float | None = None  # the commission of a trade

    COLUMNS: ClassVar[tuple[str, ...]] = ("action", "symbol", "amount", "price", "fee")  # as read from Position


@dataclass(frozen=True)
class PerformanceFigures:
    initial_value: float
    final_value: float
    total_return: float
    annualized_return: float | None
    volatility: float | None
    sharpe_ratio: float | None
    sortino_ratio: float | None
    max_drawdown: float
    win_rate: float | None
    total_trades: int
    trading_days: int
    total_fees: float = 0.0
    total_dividends: float = 0.0


def periods_per_year(mode: str, bars_per_session: int | None = None) -> int:
    """252 for DAILY runs; 252 x bars per session for INTRADAY ones."""
    if str(mode) == "DAILY":
        return TRADING_DAYS_PER_YEAR
    if str(mode) == "INTRADAY":
        if isinstance(bars_per_session, bool) or not isinstance(bars_per_session, int) or bars_per_session <= 0:
            raise ValueError(f"An intraday run needs a positive number of bars per session, not {bars_per_session!r}.")
        return TRADING_DAYS_PER_YEAR * bars_per_session
    raise ValueError(f"Unknown trading mode {mode!r}: expected DAILY or INTRADAY.")


def session_bars(session: str, interval: str) -> int:
    """Whole bars of `interval` (MINUTE, HOUR) in a session (REGULAR 390 min, PRE 330, AFTER 240)."""
    return SESSION_MINUTES[str(session)] // INTERVAL_MINUTES[str(interval)]


def run_periods_per_year(run: Run) -> int:
    """A stored run's P: an intraday run's bars per session are the whole bars of its interval in its session."""
    if str(run.mode) == "INTRADAY":
        return periods_per_year(run.mode, session_bars(run.session or "REGULAR", run.bar_interval))
    return periods_per_year(run.mode)


def _is_trade(record) -> bool:
    return str(record.action) in ("BUY", "SELL")


def _fraction(value: Decimal | float | None) -> Fraction:
    return Fraction(0) if value is None else Fraction(str(value))


def _split_ratio(price: Decimal | float) -> Fraction:
    """A stored ratio as the fraction it stands for (0.333333 is 1/3), as the ledger applies it."""
    return Fraction(str(price)).limit_denominator(MAX_RATIO_DENOMINATOR)


class _CostBasis:
    """Shares and total cost per symbol, as the ledger's actions change them.

    A buy adds its shares and its cost, fee included; a sell removes the shares sold at the average cost; a
    split keeps the total cost of the whole shares it leaves (the cost per share divided by the ratio; the
    fractional share paid in cash takes its part of the cost with it). Dividends do not change the cost."""

    def __init__(self) -> None:
        self.shares: dict[str, int] = {}
        self.cost: dict[str, Fraction] = {}

    def buy(self, symbol: str, amount: int, price: Fraction, fee: Fraction) -> None:
        self.shares[symbol] = self.shares.get(symbol, 0) + amount
        self.cost[symbol] = self.cost.get(symbol, Fraction(0)) + amount * price + fee

    def sell(self, symbol: str, amount: int) -> Fraction:
        """Removes the shares sold; returns their cost."""
        held = self.shares[symbol]
        sold = min(amount, held)
        cost_sold = self.cost[symbol] * sold / held
        self.cost[symbol] -= cost_sold
        self.shares[symbol] = held - sold
        return cost_sold

    def split(self, symbol: str, ratio: Fraction) -> None:
        held = self.shares.get(symbol, 0)
        if held <= 0:
            return
        whole = math.floor(held * ratio)
        self.cost[symbol] = self.cost[symbol] * whole / (held * ratio)
        self.shares[symbol] = whole


def win_rate(trades: Sequence[TradeRecord]) -> float | None:
    """The share of sells whose net proceeds (shares x fill - fee) beat the cost of the shares sold (their
    average cost, buy fees included, adjusted for splits); None before the first sell. Exact fractions.

    With no fees this is the share of sells whose price beat the average cost of the shares sold."""
    basis = _CostBasis()
    sells = wins = 0
    for trade in trades:
        action = str(trade.action)
        if action == "SPLIT" and trade.price is not None:
            basis.split(trade.symbol, _split_ratio(trade.price))
            continue
        if not _is_trade(trade) or not trade.amount or trade.amount <= 0 or trade.price is None:
            continue
        symbol, amount, price = trade.symbol, int(trade.amount), Fraction(str(trade.price))
        if action == "BUY":
            basis.buy(symbol, amount, price, _fraction(trade.fee))
            continue
        if basis.shares.get(symbol, 0) <= 0:
            continue  # no cost to compare with (the ledger never records such a sell)
        sells += 1
        sold = min(amount, basis.shares[symbol])
        wins += sold * price - _fraction(trade.fee) > basis.sell(symbol, amount)
    return wins / sells if sells else None


def total_fees(trades: Sequence[TradeRecord]) -> float:
    return float(sum((_fraction(t.fee) for t in trades if _is_trade(t)), Fraction(0)))


def total_dividends(trades: Sequence[TradeRecord]) -> float:
    """Cash the run's dividends paid: shares x amount per share of every DIVIDEND row."""
    paid = (int(t.amount or 0) * _fraction(t.price) for t in trades if str(t.action) == "DIVIDEND")
    return float(sum(paid, Fraction(0)))


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else float(numerator / denominator)


def _annualized(growth: float, periods: int, n: int) -> float | None:
    if n == 0:
        return None
    try:
        result = math.pow(growth, periods / n) - 1
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def compute_performance(
    initial_value: Decimal | float,
    curve: Sequence[tuple[datetime.date, float]],
    trades: Sequence[TradeRecord],
    periods_per_year: int,
) -> PerformanceFigures:
    """The figures for a curve V1..Vn of (date, value) at each close, in order, starting from V0."""
    v0 = float(initial_value)
    if not v0 > 0:
        raise ValueError(f"The initial value must be positive, not {initial_value!r}.")
    values = np.array([v0] + [float(value) for _, value in curve], dtype=float)
    n = len(values) - 1
    vn = values[-1]
    P = periods_per_year

    drawdown = 1 - values / np.maximum.accumulate(values)
    volatility = sharpe = sortino = None
    if n > 0 and np.all(values[:-1] > 0):
        returns = values[1:] / values[:-1] - 1
        mean = float(returns.mean())
        if n >= 2:
            std = float(returns.std(ddof=1))
            std = 0.0 if std <= ZERO_STD else std
            volatility = std * math.sqrt(P)
            sharpe = None if std == 0 else mean / std * math.sqrt(P)
        if np.any(returns < 0):
            downside = math.sqrt(float(np.mean(np.minimum(returns, 0) ** 2)))
            sortino = _ratio(mean * P, downside * math.sqrt(P))

    return PerformanceFigures(
        initial_value=v0,
        final_value=float(vn),
        total_return=float(vn / v0 - 1),
        annualized_return=_annualized(float(vn / v0), P, n),
        volatility=volatility,
        sharpe_ratio=sharpe,
        sortino_ratio=sortino,
        max_drawdown=max(0.0, float(drawdown.max())),
        win_rate=win_rate(trades),
        total_trades=sum(1 for trade in trades if _is_trade(trade)),
        trading_days=len({day for day, _ in curve}),
        total_fees=total_fees(trades),
        total_dividends=total_dividends(trades),
    )


async def run_performance(run: Run, *, bars_per_session: int | None = None) -> PerformanceFigures | None:
    """The figures of a stored run; None while it has no equity point.

    An intraday run's bars per session default to the whole bars of its interval in its session."""
    points = await EquityPoint.filter(run_id=run.id).order_by("timestamp").values_list("date", "value")
    if not points:
        return None
    positions = await Position.filter(run_id=run.id).order_by("action_id").values_list(*TradeRecord.COLUMNS)
    trades = [TradeRecord(*row) for row in positions]
    if str(run.mode) == "INTRADAY" and bars_per_session is None:
        bars_per_session = session_bars(run.session or "REGULAR", run.bar_interval)
    return compute_performance(await initial_cash(run), points, trades, periods_per_year(run.mode, bars_per_session))
