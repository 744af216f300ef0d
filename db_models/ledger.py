"""A run's portfolio: whole shares, long only, no margin, cash kept as exact decimals.

Every write locks the run row first and reads the latest position inside the same transaction,
so concurrent trades on one run are applied one after another and action ids stay 1..n.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from db_models.runs import ActionType, EquityPoint, Position, Run
from db_models.trading import MONEY, TradingModel

# Cash, prices and values are stored with this many decimal places.
QUANTUM = Decimal(1).scaleb(-MONEY["decimal_places"])


@dataclass(frozen=True)
class Portfolio:
    cash: Decimal
    holdings: dict[str, int] = field(default_factory=dict)  # only symbols with shares > 0

    def value(self, prices: Mapping[str, Decimal]) -> Decimal:
        """Cash plus every holding at its price; a held symbol without a price is a ValueError."""
        total = self.cash
        for symbol, shares in self.holdings.items():
            if symbol not in prices or prices[symbol] is None:
                raise ValueError(f"No price for {symbol}, which the portfolio holds ({shares} shares).")
            total += shares * _decimal(prices[symbol])
        return total


class TradeRefused(Exception):
    """A trade the rules forbid; str(exc) is a readable sentence the agent reads, e.g.
    'Not enough cash: buying 10 AAPL at 243.85 costs 2438.50 but cash is 1000.00.'"""


def _decimal(value: object) -> Decimal:
    """A Decimal from a Decimal, int or numeric string (floats through their shortest repr)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a number") from exc


def _money(value: Decimal) -> str:
    """243.85 -> '243.85', 2438.5 -> '2438.50', 0.123456 -> '0.123456'."""
    value = value.normalize()
    if value.as_tuple().exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return format(value, "f")


async def initial_cash(run: Run, connection: BaseDBAsyncClient | None = None) -> Decimal:
    """The run's starting cash: its strategy snapshot's, else its trading model's."""
    snapshot = run.strategy_snapshot or {}
    if snapshot.get("initial_cash") is not None:
        return _decimal(snapshot["initial_cash"])
    model = await TradingModel.filter(id=run.model_id).using_db(connection).only("id", "initial_cash").get()
    return _decimal(model.initial_cash)


def _portfolio_after(position: Position) -> Portfolio:
    holdings = {symbol: int(shares) for symbol, shares in (position.holdings or {}).items() if int(shares) > 0}
    return Portfolio(cash=_decimal(position.cash), holdings=holdings)


async def _latest(run: Run, connection: BaseDBAsyncClient | None) -> tuple[Portfolio, int]:
    """The portfolio after the run's last action and that action's id (0 before any)."""
    last = await Position.filter(run_id=run.id).using_db(connection).order_by("-action_id").first()
    if last is None:
        return Portfolio(cash=await initial_cash(run, connection)), 0
    return _portfolio_after(last), last.action_id


async def _lock_run(run: Run, connection: BaseDBAsyncClient) -> Run:
    """Locks the run row until the transaction ends (PostgreSQL); SQLite serialises writers anyway."""
    return await Run.filter(id=run.id).select_for_update().using_db(connection).get()


async def current_portfolio(run: Run) -> Portfolio:
    return (await _latest(run, None))[0]


def _check_order(
    action: ActionType | str, symbol: str, amount: int, price: Decimal, allowed_tickers: Sequence[str]
) -> tuple[ActionType, str, Decimal]:
    """Checks what does not depend on the portfolio; returns (action, symbol, price) normalised."""
    if str(action).upper() not in (ActionType.BUY, ActionType.SELL):
        raise TradeRefused(f"A trade must be a BUY or a SELL, not {action!s}.")
    action = ActionType(str(action).upper())
    if not isinstance(symbol, str) or not symbol.strip():
        raise TradeRefused("A trade needs a ticker symbol.")
    symbol = symbol.strip().upper()
    allowed = [str(ticker).strip().upper() for ticker in allowed_tickers]
    if symbol not in allowed:
        listed = ", ".join(allowed) if allowed else "none"
        raise TradeRefused(f"{symbol} is not an allowed ticker for this run (allowed: {listed}).")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise TradeRefused(f"The amount must be a whole number of shares above zero, not {amount!r}.")
    try:
        fill = _decimal(price).quantize(QUANTUM)
    except (ValueError, InvalidOperation):
        fill = None
    if fill is None or not fill.is_finite() or fill <= 0:
        raise TradeRefused(f"The price must be a positive number, not {price!s}.")
    return action, symbol, fill


async def apply_trade(
    run: Run,
    *,
    action: ActionType,
    symbol: str,
    amount: int,
    price: Decimal,
    date: datetime.date,
    timestamp: datetime.datetime,
    allowed_tickers: Sequence[str],
) -> Position:
    """Fills a whole-share buy or sell at `price` and records the position after it.

    Raises TradeRefused, writing nothing, when the rules forbid the trade."""
    action, symbol, price = _check_order(action, symbol, amount, price, allowed_tickers)
    async with in_transaction() as connection:
        locked = await _lock_run(run, connection)
        portfolio, last_id = await _latest(locked, connection)
        holdings = dict(portfolio.holdings)
        held = holdings.get(symbol, 0)
        cost = amount * price
        if action is ActionType.BUY:
            if cost > portfolio.cash:
                raise TradeRefused(
                    f"Not enough cash: buying {amount} {symbol} at {_money(price)} costs {_money(cost)} "
                    f"but cash is {_money(portfolio.cash)}."
                )
            cash, holdings[symbol] = portfolio.cash - cost, held + amount
        else:
            if amount > held:
                raise TradeRefused(
                    f"Not enough shares: selling {amount} {symbol} but only {held} {'is' if held == 1 else 'are'} held."
                )
            cash, holdings[symbol] = portfolio.cash + cost, held - amount
        holdings = {s: n for s, n in sorted(holdings.items()) if n > 0}
        position = await Position.create(
            run_id=run.id,
            action_id=last_id + 1,
            date=date,
            timestamp=timestamp,
            action=action,
            symbol=symbol,
            amount=amount,
            price=price,
            holdings=holdings,
            cash=cash,
            using_db=connection,
        )
        await Run.filter(id=run.id).using_db(connection).update(total_trades=F("total_trades") + 1)
    return position


async def record_no_trade(run: Run, *, date: datetime.date, timestamp: datetime.datetime) -> Position:
    """Records a step where the agent did not trade; the row carries the unchanged portfolio."""
    async with in_transaction() as connection:
        locked = await _lock_run(run, connection)
        portfolio, last_id = await _latest(locked, connection)
        return await Position.create(
            run_id=run.id,
            action_id=last_id + 1,
            date=date,
            timestamp=timestamp,
            action=ActionType.NO_TRADE,
            holdings=dict(portfolio.holdings),
            cash=portfolio.cash,
            using_db=connection,
        )


async def record_close(
    run: Run, *, date: datetime.date, timestamp: datetime.datetime, prices: Mapping[str, Decimal]
) -> EquityPoint:
    """Values the portfolio at a close; recording the same timestamp again updates that point."""
    async with in_transaction() as connection:
        locked = await _lock_run(run, connection)
        portfolio, _ = await _latest(locked, connection)
        value = portfolio.value(prices).quantize(QUANTUM)
        point = await EquityPoint.filter(run_id=run.id, timestamp=timestamp).using_db(connection).first()
        if point is None:
            return await EquityPoint.create(
                run_id=run.id, date=date, timestamp=timestamp, value=value, cash=portfolio.cash, using_db=connection
            )
        point.date, point.value, point.cash = date, value, portfolio.cash
        await point.save(using_db=connection, update_fields=["date", "value", "cash"])
        return point
