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

import numpy as np

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

    action: str  # BUY, SELL or NO_TRADE
    symbol: str | None
    amount: int | None
    price: Decimal | float | None


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


def win_rate(trades: Sequence[TradeRecord]) -> float | None:
    """The share of sells whose price beat the average cost of the shares sold; None before the first sell.

    The average cost is that of the position held at the time: buys add their cost, sells remove the
    shares sold at the average cost (so the average stays the same). Exact fractions, no rounding.
    """
    shares: dict[str, int] = {}
    cost: dict[str, Fraction] = {}
    sells = wins = 0
    for trade in trades:
        if not _is_trade(trade) or not trade.amount or trade.amount <= 0 or trade.price is None:
            continue
        symbol, amount, price = trade.symbol, int(trade.amount), Fraction(str(trade.price))
        held = shares.get(symbol, 0)
        if str(trade.action) == "BUY":
            shares[symbol] = held + amount
            cost[symbol] = cost.get(symbol, Fraction(0)) + amount * price
            continue
        if held <= 0:
            continue  # no cost to compare with (the ledger never records such a sell)
        sells += 1
        wins += price * held > cost[symbol]  # price > cost / held, without dividing
        sold = min(amount, held)
        cost[symbol] = cost[symbol] * (held - sold) / held
        shares[symbol] = held - sold
    return wins / sells if sells else None


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
    )


async def run_performance(run: Run, *, bars_per_session: int | None = None) -> PerformanceFigures | None:
    """The figures of a stored run; None while it has no equity point.

    An intraday run's bars per session default to the whole bars of its interval in its session."""
    points = await EquityPoint.filter(run_id=run.id).order_by("timestamp").values_list("date", "value")
    if not points:
        return None
    positions = (
        await Position.filter(run_id=run.id).order_by("action_id").values_list("action", "symbol", "amount", "price")
    )
    trades = [TradeRecord(action, symbol, amount, price) for action, symbol, amount, price in positions]
    if str(run.mode) == "INTRADAY" and bars_per_session is None:
        bars_per_session = session_bars(run.session or "REGULAR", run.bar_interval)
    return compute_performance(await initial_cash(run), points, trades, periods_per_year(run.mode, bars_per_session))
