"""A run's portfolio: whole shares, long only, no margin, cash kept as exact decimals; trades pay the run's costs.

Every write locks the run row first and reads the latest position inside the same transaction,
so concurrent trades on one run are applied one after another and action ids stay 1..n.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from db_models.costs import NO_COSTS, TradingCosts
from db_models.runs import TRADE_ACTIONS, ActionType, EquityPoint, Position, Run
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
    last = await _last_row(run, connection)
    if last is None:
        return Portfolio(cash=await initial_cash(run, connection)), 0
    return _portfolio_after(last), last.action_id


async def _last_row(run: Run, connection: BaseDBAsyncClient | None) -> Position | None:
    return await Position.filter(run_id=run.id).using_db(connection).order_by("-action_id").first()


async def _lock_run(run: Run, connection: BaseDBAsyncClient) -> None:
    """Locks the run row until the transaction ends (PostgreSQL); SQLite serialises writers anyway. Only the
    lock is wanted, so only the id is read."""
    await Run.filter(id=run.id).select_for_update().using_db(connection).only("id").get()


async def locked_portfolio(run: Run, connection: BaseDBAsyncClient) -> tuple[Portfolio, int]:
    """Locks the run, then reads its portfolio and last action id: call inside the writing transaction."""
    await _lock_run(run, connection)
    return await _latest(run, connection)


def _held(holdings: Mapping[str, int]) -> dict[str, int]:
    """Holdings as stored: symbols with shares, in name order."""
    return {symbol: shares for symbol, shares in sorted(holdings.items()) if shares > 0}


async def current_portfolio(run: Run) -> Portfolio:
    return (await _latest(run, None))[0]


async def current_portfolio_as_of(run: Run) -> tuple[Portfolio, datetime.datetime | None]:
    """The run's portfolio and the time of its last row (None before any): a run's rows are written in time
    order, so nothing took effect after that time."""
    last = await _last_row(run, None)
    if last is None:
        return Portfolio(cash=await initial_cash(run)), None
    return _portfolio_after(last), last.timestamp


def _check_order(
    action: ActionType | str, symbol: str, amount: int, price: Decimal, allowed_tickers: Sequence[str]
) -> tuple[ActionType, str, Decimal]:
    """Checks what does not depend on the portfolio; returns (action, symbol, price) normalised."""
    if str(action).upper() not in TRADE_ACTIONS:
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
        market = _decimal(price).quantize(QUANTUM)
    except (ValueError, InvalidOperation):
        market = None
    if market is None or not market.is_finite() or market <= 0:
        raise TradeRefused(f"The price must be a positive number, not {price!s}.")
    return action, symbol, market


@dataclass(frozen=True)
class _Order:
    """A buy or sell priced with the run's costs, checked against one portfolio."""

    action: ActionType
    symbol: str
    amount: int
    fill: Decimal
    costs: TradingCosts

    def fee(self, shares: int | None = None) -> Decimal:
        return self.costs.fee((self.amount if shares is None else shares) * self.fill)

    def cash_after(self, portfolio: Portfolio, shares: int | None = None) -> Decimal:
        shares = self.amount if shares is None else shares
        signed = shares * self.fill if self.action is ActionType.SELL else -shares * self.fill
        return portfolio.cash + signed - self.fee(shares)

    def weight_after(self, portfolio: Portfolio, marks: Mapping[str, Decimal], shares: int) -> Decimal:
        """The symbol's share of the portfolio's value after buying `shares`, every holding at its mark."""
        held = portfolio.holdings.get(self.symbol, 0) + shares
        others = Portfolio(
            self.cash_after(portfolio, shares), {s: n for s, n in portfolio.holdings.items() if s != self.symbol}
        )
        position = held * self.fill
        total = others.value(marks) + position
        return position / total if total > 0 else Decimal(1)


def _most_shares(fits: Callable[[int], bool], upper: int) -> int:
    """The largest n in 0..upper with fits(n), for a condition that holds up to some n and fails after."""
    low, high = 0, upper
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _fee_words(fee: Decimal) -> str:
    return f" plus a {_money(fee)} fee" if fee else ""


def _check_buy(order: _Order, portfolio: Portfolio, marks: Mapping[str, Decimal] | None) -> None:
    if order.cash_after(portfolio) < 0:
        cost = order.amount * order.fill
        fit = _most_shares(lambda n: order.cash_after(portfolio, n) >= 0, order.amount - 1)
        raise TradeRefused(
            f"Not enough cash: buying {order.amount} {order.symbol} at {_money(order.fill)} costs {_money(cost)}"
            f"{_fee_words(order.fee())} but cash is {_money(portfolio.cash)}; at most {fit} "
            f"{'share fits' if fit == 1 else 'shares fit'}."
        )
    cap = order.costs.max_position_weight
    if cap is None:
        return
    marks = {**(marks or {}), order.symbol: order.fill}
    missing = [s for s in portfolio.holdings if s not in marks]
    if missing:
        raise TradeRefused(f"No price now for {', '.join(missing)}, so the position cap cannot be checked.")
    weight = order.weight_after(portfolio, marks, order.amount)
    if weight > cap:
        fit = _most_shares(lambda n: order.weight_after(portfolio, marks, n) <= cap, order.amount - 1)
        held = portfolio.holdings.get(order.symbol, 0)
        raise TradeRefused(
            f"Position cap: after buying {order.amount} {order.symbol} at {_money(order.fill)}, "
            f"{order.symbol} would be {_percent(weight)} of the portfolio's value but this model allows at most "
            f"{_percent(cap)} in one symbol; with {held} held, at most {fit} more "
            f"{'share fits' if fit == 1 else 'shares fit'}."
        )


def _check_sell(order: _Order, portfolio: Portfolio) -> None:
    held = portfolio.holdings.get(order.symbol, 0)
    if order.amount > held:
        raise TradeRefused(
            f"Not enough shares: selling {order.amount} {order.symbol} but only {held} "
            f"{'is' if held == 1 else 'are'} held."
        )
    if order.cash_after(portfolio) < 0:
        raise TradeRefused(
            f"Not enough cash for the fee: selling {order.amount} {order.symbol} at {_money(order.fill)} brings "
            f"{_money(order.amount * order.fill)} but its fee is {_money(order.fee())} and cash is "
            f"{_money(portfolio.cash)}."
        )


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).quantize(Decimal('0.01'))} %"


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
    costs: TradingCosts = NO_COSTS,
    marks: Mapping[str, Decimal] | None = None,
) -> Position:
    """Fills a whole-share buy or sell at the market `price` moved by the run's slippage, charges its fee,
    and records the position after it. `marks` prices the other holdings at the fill (for the position cap).

    Raises TradeRefused, writing nothing, when the rules forbid the trade."""
    action, symbol, market = _check_order(action, symbol, amount, price, allowed_tickers)
    order = _Order(action, symbol, amount, costs.fill_price(market, buying=action is ActionType.BUY), costs)
    async with in_transaction() as connection:
        # Counting the trade takes the run's row lock as _lock_run would, in the statement the trade needs anyway;
        # a refusal rolls the count back with the rest.
        await Run.filter(id=run.id).using_db(connection).update(total_trades=F("total_trades") + 1)
        portfolio, last_id = await _latest(run, connection)
        if action is ActionType.BUY:
            _check_buy(order, portfolio, marks)
        else:
            _check_sell(order, portfolio)
        holdings = dict(portfolio.holdings)
        change = amount if action is ActionType.BUY else -amount
        holdings[symbol] = holdings.get(symbol, 0) + change
        position = await Position.create(
            run_id=run.id,
            action_id=last_id + 1,
            date=date,
            timestamp=timestamp,
            action=action,
            symbol=symbol,
            amount=amount,
            price=order.fill,
            fee=order.fee(),
            holdings=_held(holdings),
            cash=order.cash_after(portfolio),
            using_db=connection,
        )
    return position


async def record_no_trade(run: Run, *, date: datetime.date, timestamp: datetime.datetime) -> Position:
    """Records a step where the agent did not trade; the row carries the unchanged portfolio."""
    async with in_transaction() as connection:
        portfolio, last_id = await locked_portfolio(run, connection)
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
        portfolio, _ = await locked_portfolio(run, connection)
        value = portfolio.value(prices).quantize(QUANTUM)
        point = await EquityPoint.filter(run_id=run.id, timestamp=timestamp).using_db(connection).first()
        if point is None:
            return await EquityPoint.create(
                run_id=run.id, date=date, timestamp=timestamp, value=value, cash=portfolio.cash, using_db=connection
            )
        point.date, point.value, point.cash = date, value, portfolio.cash
        await point.save(using_db=connection, update_fields=["date", "value", "cash"])
        return point


@dataclass(frozen=True)
class StepEnd:
    """What closing a step wrote or found: its trades in order, the portfolio after it and its equity point."""

    trades: list[Position]
    portfolio: Portfolio
    last_action_id: int
    point: EquityPoint


async def close_step(
    run: Run,
    connection: BaseDBAsyncClient,
    *,
    start: Portfolio,
    start_action_id: int,
    date: datetime.date,
    fills_at: datetime.datetime,
    valued_at: datetime.datetime,
    prices: Mapping[str, Decimal],
) -> StepEnd:
    """Ends a step inside the caller's transaction: a NO_TRADE row when the step made no trade, then the
    portfolio valued at `prices` on the equity curve at `valued_at`.

    `start` and `start_action_id` are the portfolio and last action id when the agent's turn began; the
    rows written since are the step's own (its trades), read in one query with the run locked."""
    await _lock_run(run, connection)
    since = (
        await Position.filter(run_id=run.id, action_id__gt=start_action_id).using_db(connection).order_by("action_id")
    )
    trades = [row for row in since if row.action in TRADE_ACTIONS]
    portfolio, last_id = (_portfolio_after(since[-1]), since[-1].action_id) if since else (start, start_action_id)
    missing = [symbol for symbol in portfolio.holdings if prices.get(symbol) is None]
    if missing:
        raise ValueError(f"No closing price on {date.isoformat()} for {', '.join(missing)}.")
    if not trades:
        last_id += 1
        await Position.create(
            run_id=run.id,
            action_id=last_id,
            date=date,
            timestamp=fills_at,
            action=ActionType.NO_TRADE,
            holdings=dict(portfolio.holdings),
            cash=portfolio.cash,
            using_db=connection,
        )
    point = await EquityPoint.create(
        run_id=run.id,
        date=date,
        timestamp=valued_at,
        value=portfolio.value(prices).quantize(QUANTUM),
        cash=portfolio.cash,
        using_db=connection,
    )
    return StepEnd(trades=trades, portfolio=portfolio, last_action_id=last_id, point=point)


async def latest_portfolio(run: Run) -> tuple[Portfolio, int]:
    """The run's portfolio and its last action id, read without a lock (the run's worker between its steps)."""
    return await _latest(run, None)
