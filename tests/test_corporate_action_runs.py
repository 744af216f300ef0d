"""Runs across splits and dividends: applied at the ex-date's open before the agent's turn, once, computed by hand,
and on the shipped prices in agreement with the package's Adj Close."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pandas as pd
import pytest
import pytest_asyncio

from db_models.corporate_actions import Action, actions_between, store_actions
from db_models.ledger import apply_trade
from db_models.market import CorporateAction
from db_models.price_seed import bokeh_stocks_path, seed_shipped_prices
from db_models.runs import ActionType, Position, Run
from tasks.run_executor import _discard_partial_step
from tasks.schedule import daily_steps
from tasks.step_actions import apply_step_actions
from tests.support import price_fixtures as px
from tests.support.ledger_runs import new_run
from tests.support.price_state import restored_market_data
from tests.support.run_helpers import START_DAILY, follow_run

DAYS = px.trading_days()
LAST = len(DAYS) - 1
CREATE = "mutation($input: CreateModelInput!) { createModel(input: $input) { id } }"
RESULT = """query($id: ID!) { run(id: $id) { status error
  positions(first: 100) { edges { node { actionId date action symbol amount price holdings cash fee } } }
  equityCurve { date value cash }
  performance { initialValue finalValue totalReturn maxDrawdown totalTrades totalDividends winRate } } }"""
D = Decimal

# The test series' actions: a dividend on the first day (nothing is held before its open), then
# LKAH: 0.37 dividend, 3-for-2, 0.10 dividend, 1-for-4; LKBH: 2-for-1.
RUN_ACTIONS = [
    Action.dividend(px.SYMBOL, DAYS[0], D("5.55"), "test-run"),
    Action.dividend(px.SYMBOL, DAYS[3], D("0.37"), "test-run"),
    Action.split(px.SYMBOL, DAYS[5], D("1.5"), "test-run"),
    Action.dividend(px.SYMBOL, DAYS[8], D("0.10"), "test-run"),
    Action.split(px.OTHER, DAYS[10], D("2"), "test-run"),
    Action.split(px.SYMBOL, DAYS[12], D("0.25"), "test-run"),
]


@pytest_asyncio.fixture
async def run_actions(market):
    await store_actions(RUN_ACTIONS)
    try:
        yield
    finally:
        await CorporateAction.filter(source="test-run").delete()


async def start_buy_and_hold(api, account, tickers, start: dt.date, end: dt.date) -> dict:
    model = (
        await api.data(
            CREATE,
            {"input": {"name": "Holder", "allowedTickers": list(tickers), "aiModel": "local/buy-and-hold"}},
            token=account.token,
        )
    )["createModel"]["id"]
    variables = {"model": model, "input": {"startDate": start.isoformat(), "endDate": end.isoformat()}}
    return (await api.data(START_DAILY, variables, token=account.token))["startDailyRun"]


def hand_curve() -> tuple[list[float], list[tuple]]:
    """The buy-and-hold of 50 LKAH (open 100) and 4 LKBH (open 1,100) through RUN_ACTIONS, day by day."""
    cash, shares = D("10000") - 50 * px.daily_open(0) - 4 * (px.daily_open(0) + 1000), {px.SYMBOL: 50, px.OTHER: 4}
    rows, curve = [], []
    for day in range(len(DAYS)):
        if day == 3:
            cash += 50 * D("0.37")  # 18.50
            rows.append((DAYS[3], "DIVIDEND", px.SYMBOL, 50, 0.37, {px.OTHER: 4, px.SYMBOL: 50}, 618.5))
        if day == 5:
            shares[px.SYMBOL] = 75  # 50 x 3/2
            rows.append((DAYS[5], "SPLIT", px.SYMBOL, 50, 1.5, {px.OTHER: 4, px.SYMBOL: 75}, 618.5))
        if day == 8:
            cash += 75 * D("0.10")  # 7.50
            rows.append((DAYS[8], "DIVIDEND", px.SYMBOL, 75, 0.1, {px.OTHER: 4, px.SYMBOL: 75}, 626.0))
        if day == 10:
            shares[px.OTHER] = 8
            rows.append((DAYS[10], "SPLIT", px.OTHER, 4, 2.0, {px.OTHER: 8, px.SYMBOL: 75}, 626.0))
        if day == 12:
            shares[px.SYMBOL] = 18  # 75 / 4 = 18.75: the 0.75 share paid at the open, 112.00: 84.00
            cash += D("0.75") * px.daily_open(12)
            rows.append((DAYS[12], "SPLIT", px.SYMBOL, 75, 0.25, {px.OTHER: 8, px.SYMBOL: 18}, 710.0))
        closes = {px.SYMBOL: px.daily_close(day), px.OTHER: px.daily_close(day) + 1000}
        curve.append(float(cash + sum(n * closes[s] for s, n in shares.items())))
    return curve, rows


async def test_a_run_applies_splits_and_dividends_at_the_ex_dates_open_before_the_agents_turn(
    api, ws_url, user, run_actions
):
    run = await start_buy_and_hold(api, user, (px.SYMBOL, px.OTHER), DAYS[0], DAYS[-1])
    events, error = await follow_run(ws_url, user.token, run["id"], after_seq=0)
    assert error is None and events[-1]["kind"] == "COMPLETED"
    result = (await api.data(RESULT, {"id": run["id"]}, token=user.token))["run"]
    assert result["status"] == "COMPLETED", result["error"]

    curve, expected_rows = hand_curve()
    nodes = [e["node"] for e in result["positions"]["edges"]]
    actions = [
        (dt.date.fromisoformat(n["date"]), n["action"], n["symbol"], n["amount"], n["price"], n["holdings"], n["cash"])
        for n in nodes
        if n["action"] in ("SPLIT", "DIVIDEND")
    ]
    assert actions == expected_rows  # the first day's dividend came before anything was held: no row
    assert [n["actionId"] for n in nodes] == list(range(1, len(nodes) + 1))
    assert all(n["fee"] == 0 for n in nodes)
    assert [p["value"] for p in result["equityCurve"]] == pytest.approx(curve, abs=1e-9)
    assert curve[-1] == 710 + 18 * 121.25 + 8 * 1121.25
    performance = result["performance"]
    assert performance["finalValue"] == pytest.approx(curve[-1])
    assert performance["totalDividends"] == pytest.approx(26.0) and performance["totalTrades"] == 2

    # One event each, after the day's PROGRESS and before its agent turn's LOG.
    kinds = [(e["kind"], e["progress"]["currentDate"]) for e in events]
    applied = [e for e in events if e["kind"] == "CORPORATE_ACTION"]
    assert [(e["position"]["action"], e["position"]["symbol"]) for e in applied] == [
        (row[1], row[2]) for row in expected_rows
    ]
    for event in applied:
        day = event["position"]["date"]
        at = events.index(event)
        assert kinds.index(("PROGRESS", day)) < at < kinds.index(("LOG", day))
    assert applied[-1]["message"] == (
        "LKAH split 1-for-4 at the 2025-01-20 open: 75 shares became 18; the 0.75 share left over was paid in "
        "cash at the open, 112.00: 84.00."
    )


async def test_a_resumed_step_keeps_the_actions_applied_at_its_open_and_applies_none_again(server_url, run_actions):
    run = await new_run([px.SYMBOL, px.OTHER])
    await apply_trade(
        run,
        action=ActionType.BUY,
        symbol=px.SYMBOL,
        amount=10,
        price=px.daily_open(4),
        date=DAYS[4],
        timestamp=px.session_open(DAYS[4]),
        allowed_tickers=[px.SYMBOL, px.OTHER],
    )
    steps = await daily_steps([px.SYMBOL, px.OTHER], DAYS[4], DAYS[-1])
    [split] = await apply_step_actions(run, steps, 1)  # day 5: the 3-for-2
    assert split.position.holdings == {px.SYMBOL: 15}
    # The agent's turn traded, then the worker died: the replay discards the trade, keeps the split.
    await apply_trade(
        run,
        action=ActionType.SELL,
        symbol=px.SYMBOL,
        amount=15,
        price=px.daily_open(5),
        date=DAYS[5],
        timestamp=steps[1].clock_at,
        allowed_tickers=[px.SYMBOL, px.OTHER],
    )
    await _discard_partial_step(run, steps[1])
    assert await apply_step_actions(run, steps, 1) == []
    rows = await Position.filter(run_id=run.id).order_by("action_id").values_list("action_id", "action", "holdings")
    assert rows == [(1, "BUY", {px.SYMBOL: 10}), (2, "SPLIT", {px.SYMBOL: 15})]
    assert (await Run.get(id=run.id)).total_trades == 1


async def test_an_ex_date_between_two_steps_applies_at_the_next_steps_open(server_url, run_actions):
    run = await new_run([px.SYMBOL])
    await apply_trade(
        run,
        action=ActionType.BUY,
        symbol=px.SYMBOL,
        amount=10,
        price=px.daily_open(2),
        date=DAYS[2],
        timestamp=px.session_open(DAYS[2]),
        allowed_tickers=[px.SYMBOL],
    )
    # Steps of days 2 and 6 only (as if days 3 to 5 had no bars): day 6 applies day 3's dividend and day 5's split.
    steps = [s for s in await daily_steps([px.SYMBOL], DAYS[2], DAYS[6]) if s.day in (DAYS[2], DAYS[6])]
    applied = await apply_step_actions(run, steps, 1)
    assert [(a.position.action, a.position.date, a.position.timestamp) for a in applied] == [
        (ActionType.DIVIDEND, DAYS[3], steps[1].clock_at),
        (ActionType.SPLIT, DAYS[5], steps[1].clock_at),
    ]
    assert applied[-1].position.cash == D("10000") - 10 * px.daily_open(2) + D("3.70")


# ------------------------------------------------------------------------------------- the shipped prices


@pytest_asyncio.fixture
async def shipped_prices(market):
    async with restored_market_data():
        await seed_shipped_prices()
        yield


def bokeh(symbol: str) -> pd.DataFrame:
    frame = pd.read_csv(bokeh_stocks_path())
    frame = frame[frame["Ticker"] == symbol].copy()
    frame["Date"] = pd.to_datetime(frame["Date"]).dt.date
    return frame.set_index("Date")


SHIPPED = [
    # (symbol, start, end, what the window crosses)
    pytest.param("AAPL", dt.date(2005, 2, 1), dt.date(2005, 3, 31), id="AAPL 2-for-1 of 2005-02-28"),
    pytest.param("MSFT", dt.date(2004, 11, 1), dt.date(2004, 11, 30), id="MSFT 3.03 dividend of 2004-11-15"),
    pytest.param("MSFT", dt.date(2003, 2, 3), dt.date(2003, 3, 31), id="MSFT 2-for-1 of 2003-02-18"),
]


@pytest.mark.parametrize(("symbol", "start", "end"), SHIPPED)
async def test_a_buy_and_hold_across_a_shipped_split_or_dividend_agrees_with_adj_close(
    api, ws_url, user, shipped_prices, symbol, start, end
):
    run = await start_buy_and_hold(api, user, (symbol,), start, end)
    _, error = await follow_run(ws_url, user.token, run["id"], after_seq=0)
    result = (await api.data(RESULT, {"id": run["id"]}, token=user.token))["run"]
    assert error is None and result["status"] == "COMPLETED", result["error"]

    prices = bokeh(symbol).loc[start:end]
    first, last = prices.iloc[0], prices.iloc[-1]
    actions = await actions_between([symbol], prices.index[1], end)
    assert actions, "the window crosses an ex-date"

    # By hand: floor(10,000 / first open) shares, then each action in turn; valued at the last close.
    v0 = D("10000")
    shares = int(v0 // D(str(first["Open"])))
    left_over = v0 - shares * D(str(first["Open"]))
    dividends: list[tuple[int, Decimal, dt.date]] = []
    for action in actions:
        if action.ratio is not None:
            shares = math.floor(shares * action.exact_ratio)  # 2-for-1: no fraction
        else:
            dividends.append((shares, action.amount, action.ex_date))
    final = left_over + sum(held * amount for held, amount, _ in dividends) + shares * D(str(last["Close"]))
    assert result["performance"]["finalValue"] == pytest.approx(float(final), abs=1e-6)

    # Adj Close over the same days, from the first open (adjusted like that day's close) to the last close.
    adjusted = prices["Adj Close"]
    stock_ratio = last["Adj Close"] / (first["Open"] * first["Adj Close"] / first["Close"])
    ledger_ratio = result["performance"]["finalValue"] / 10000
    # They differ only by the cash that is not in the stock, times what the stock did after it left: the
    # whole-share remainder (under one share) since the first open, and each dividend since its ex-date (Adj
    # Close reinvests dividends; the ledger keeps them as cash). Plus rounding: Adj Close has six decimals and
    # each dividend amount is rounded to the cent (half a cent a share).
    drag = float(left_over / v0) * (stock_ratio - 1)
    rounding = 1e-6
    for held, amount, ex_date in dividends:
        before_ex = adjusted[adjusted.index < ex_date].iloc[-1]
        drag += float(held * amount / v0) * (last["Adj Close"] / before_ex - 1)
        rounding += held * 0.005 / 10000
    assert abs(ledger_ratio - (stock_ratio - drag)) <= rounding
    assert abs(ledger_ratio - stock_ratio) < 0.005  # where the ledger without corporate actions was off by half
