"""Splits and dividends in a run's ledger: each its own row, computed by hand, applied once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from db_models.corporate_actions import Action
from db_models.ledger import Portfolio, apply_trade, current_portfolio
from db_models.ledger_actions import apply_corporate_action
from db_models.runs import ActionType, Position, Run
from tests.support.ledger_runs import new_run

EX_DATE = dt.date(2025, 3, 4)
AT_OPEN = dt.datetime(2025, 3, 4, 14, 30, tzinfo=dt.UTC)
D = Decimal


async def holding(shares: int, price: str = "100", symbol: str = "AAPL", cash: str = "10000.00") -> Run:
    run = await new_run(initial_cash=cash)
    await apply_trade(
        run,
        action=ActionType.BUY,
        symbol=symbol,
        amount=shares,
        price=D(price),
        date=EX_DATE - dt.timedelta(days=1),
        timestamp=AT_OPEN - dt.timedelta(days=1),
        allowed_tickers=["AAPL", "MSFT"],
    )
    return run


def split(ratio: str, symbol: str = "AAPL") -> Action:
    return Action.split(symbol, EX_DATE, D(ratio), "test")


def dividend(amount: str, symbol: str = "AAPL") -> Action:
    return Action.dividend(symbol, EX_DATE, D(amount), "test")


async def test_a_two_for_one_split_doubles_the_shares_and_leaves_the_cash(server_url):
    run = await holding(10)  # cash 9,000
    applied = await apply_corporate_action(run, split("2"), timestamp=AT_OPEN, open_price=D("50.5"))
    row = applied.position
    assert (row.action, row.symbol, row.amount, row.price, row.fee) == (ActionType.SPLIT, "AAPL", 10, D("2"), 0)
    assert (row.holdings, row.cash, row.date, row.timestamp, row.action_id) == (
        {"AAPL": 20},
        D("9000"),
        EX_DATE,
        AT_OPEN,
        2,
    )
    assert applied.message == "AAPL split 2-for-1 at the 2025-03-04 open: 10 shares became 20."
    assert await current_portfolio(run) == Portfolio(cash=D("9000"), holdings={"AAPL": 20})
    assert (await Run.get(id=run.id)).total_trades == 1  # a split is not a trade


@pytest.mark.parametrize(
    ("held", "ratio", "open_price", "shares_after", "cash_in_lieu", "words"),
    [
        # 3-for-2 on 5 shares = 7.5: 7 shares and 0.5 x 101.00 = 50.50
        (5, "1.5", "101.00", 7, "50.50", "3-for-2"),
        # 1-for-10 on 25 shares = 2.5: 2 shares and 0.5 x 40.00 = 20.00
        (25, "0.1", "40.00", 2, "20.00", "1-for-10"),
        # 1-for-3 (stored as 0.333333) on 10 shares = 3 1/3: 3 shares and 1/3 x 9.99 = 3.33
        (10, "0.333333", "9.99", 3, "3.33", "1-for-3"),
        # 1-for-3 on 10 shares at 10.00: 1/3 x 10.00 = 3.333... -> 3.33
        (10, "0.333333", "10.00", 3, "3.33", "1-for-3"),
        # 2-for-3 on 10 shares = 6 2/3: 6 shares and 2/3 x 10.00 = 6.666... -> 6.67
        (10, "0.666667", "10.00", 6, "6.67", "2-for-3"),
    ],
)
async def test_a_fractional_share_left_by_a_split_is_paid_in_cash_at_the_open(
    server_url, held, ratio, open_price, shares_after, cash_in_lieu, words
):
    run = await holding(held, price="10")
    cash_before = D("10000") - held * D("10")
    applied = await apply_corporate_action(run, split(ratio), timestamp=AT_OPEN, open_price=D(open_price))
    assert applied.position.holdings == {"AAPL": shares_after}
    assert applied.position.cash == cash_before + D(cash_in_lieu)
    assert (applied.position.amount, applied.position.price) == (held, D(ratio))
    assert applied.message.startswith(f"AAPL split {words} at the 2025-03-04 open: {held} shares became {shares_after}")
    assert applied.message.endswith(f": {cash_in_lieu}.")


async def test_a_reverse_split_can_leave_no_whole_share_and_pays_it_all_in_cash(server_url):
    run = await holding(5, price="3")  # cash 9,985
    applied = await apply_corporate_action(run, split("0.1"), timestamp=AT_OPEN, open_price=D("30"))
    assert applied.position.holdings == {}
    assert applied.position.cash == D("9985") + D("15.00")  # 0.5 x 30.00
    assert "5 shares became 0; the 0.5 share left over was paid in cash at the open, 30.00: 15.00." in applied.message


async def test_a_fractional_share_without_an_open_price_is_an_error_and_writes_nothing(server_url):
    run = await holding(5)
    with pytest.raises(ValueError, match="No open price of AAPL"):
        await apply_corporate_action(run, split("1.5"), timestamp=AT_OPEN)
    assert await Position.filter(run_id=run.id).count() == 1


async def test_a_dividend_credits_shares_times_the_amount_to_cash(server_url):
    run = await holding(120, price="25", symbol="MSFT")  # cash 7,000
    applied = await apply_corporate_action(run, dividend("3.03", "MSFT"), timestamp=AT_OPEN)
    row = applied.position
    assert (row.action, row.symbol, row.amount, row.price) == (ActionType.DIVIDEND, "MSFT", 120, D("3.03"))
    assert (row.holdings, row.cash) == ({"MSFT": 120}, D("7000") + D("363.60"))
    assert applied.message == "MSFT paid a dividend of 3.03 a share (ex-date 2025-03-04) on 120 shares: 363.60 to cash."


async def test_an_action_of_a_symbol_not_held_writes_no_row(server_url):
    run = await holding(10)
    assert await apply_corporate_action(run, dividend("1", "MSFT"), timestamp=AT_OPEN) is None
    assert await apply_corporate_action(run, split("2", "MSFT"), timestamp=AT_OPEN) is None
    assert await Position.filter(run_id=run.id).count() == 1


async def test_applying_the_same_action_again_changes_nothing(server_url):
    run = await holding(10)
    await apply_corporate_action(run, dividend("0.50"), timestamp=AT_OPEN)
    await apply_corporate_action(run, split("2"), timestamp=AT_OPEN)
    assert await apply_corporate_action(run, dividend("0.50"), timestamp=AT_OPEN) is None
    assert await apply_corporate_action(run, split("2"), timestamp=AT_OPEN) is None
    rows = await Position.filter(run_id=run.id).order_by("action_id").values_list("action_id", "action", "cash")
    # The dividend is paid on the 10 shares held before the open, then the split applies.
    assert rows == [(1, "BUY", D("9000")), (2, "DIVIDEND", D("9005")), (3, "SPLIT", D("9005"))]
    assert await current_portfolio(run) == Portfolio(cash=D("9005"), holdings={"AAPL": 20})
