"""The trade tools fill at the run's fill price, refuse what the rules forbid, and never overspend."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal

import pytest
import pytest_asyncio

from db_models.corporate_actions import Action
from db_models.costs import TradingCosts
from db_models.ledger_actions import apply_corporate_action
from db_models.market import PriceInterval
from db_models.runs import ActionType, Position, Run, RunStatus, TradingMode
from tests.support import price_fixtures as px
from tests.support.tool_servers import call_text, create_running_run, mcp_client, running_tool_servers, session_tools

DAYS = px.trading_days()
TODAY = 9
OPEN_TODAY = px.daily_open(TODAY)  # 109


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def trade_url(server_url):
    async with px.test_bars(), running_tool_servers("trade") as urls:
        yield urls["trade"]


@pytest_asyncio.fixture
async def daily_run(settings, trade_url):
    return await create_running_run(
        settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL, px.OTHER]
    )


async def call(url: str, credential: str | None, tool: str, **arguments) -> str:
    async with session_tools(mcp_client({"trade": url}, credential), "trade") as tools:
        return await call_text(tools[tool], **arguments)


async def positions(run) -> list[Position]:
    return await Position.filter(run_id=run.id).order_by("action_id")


async def test_a_daily_buy_fills_at_todays_open_and_updates_cash_exactly(trade_url, daily_run):
    answer = json.loads(await call(trade_url, daily_run.credential, "buy", symbol=px.SYMBOL.lower(), amount=7))
    assert answer["price"] == float(OPEN_TODAY)
    assert answer["cash"] == float(Decimal("10000.00") - 7 * OPEN_TODAY)
    assert answer["holdings"] == {px.SYMBOL: 7}
    [row] = await positions(daily_run.run)
    assert (row.action, row.symbol, row.amount, row.price) == (ActionType.BUY, px.SYMBOL, 7, OPEN_TODAY)
    assert row.cash == Decimal("10000.00") - 7 * OPEN_TODAY
    assert row.date == DAYS[TODAY]


async def test_each_call_reads_the_runs_clock_and_status_afresh(trade_url, daily_run):
    """The tools keep a run's fixed fields between calls, never its clock or its status."""
    await call(trade_url, daily_run.credential, "buy", symbol=px.SYMBOL, amount=1)
    await Run.filter(id=daily_run.run.id).update(clock_at=px.session_open(DAYS[TODAY + 1]))
    answer = json.loads(await call(trade_url, daily_run.credential, "buy", symbol=px.SYMBOL, amount=1))
    assert answer["price"] == float(px.daily_open(TODAY + 1))
    assert [row.date for row in await positions(daily_run.run)] == [DAYS[TODAY], DAYS[TODAY + 1]]

    await Run.filter(id=daily_run.run.id).update(status=RunStatus.COMPLETED)
    closed = await call(trade_url, daily_run.credential, "buy", symbol=px.SYMBOL, amount=1)
    assert closed == "Refused: This run is not running; its tools are closed."
    assert len(await positions(daily_run.run)) == 2


async def test_a_daily_order_on_a_day_without_a_bar_is_refused(settings, trade_url):
    """The newest bar up to the clock is an earlier day's: it is not today's open, so nothing fills."""
    after_the_bars = DAYS[-1] + dt.timedelta(days=1)
    run = await create_running_run(settings, clock_at=px.session_open(after_the_bars), allowed_tickers=[px.SYMBOL])
    refused = await call(trade_url, run.credential, "buy", symbol=px.SYMBOL, amount=1)
    assert refused == f"Refused: {px.SYMBOL} has no price for {after_the_bars.isoformat()}; it cannot trade today."
    assert await positions(run.run) == []


async def test_a_sell_fills_at_the_open_and_returns_the_cash(trade_url, daily_run):
    await call(trade_url, daily_run.credential, "buy", symbol=px.SYMBOL, amount=10)
    answer = json.loads(await call(trade_url, daily_run.credential, "sell", symbol=px.SYMBOL, amount=4))
    assert answer["holdings"] == {px.SYMBOL: 6}
    assert answer["cash"] == float(Decimal("10000.00") - 6 * OPEN_TODAY)
    assert [p.action_id for p in await positions(daily_run.run)] == [1, 2]


@pytest.mark.parametrize(
    ("tool", "arguments", "reason"),
    [
        ("buy", {"symbol": "MSFT", "amount": 1}, "allowed"),
        ("buy", {"symbol": px.SYMBOL, "amount": 0}, "positive"),
        ("buy", {"symbol": px.SYMBOL, "amount": -3}, "positive"),
        ("buy", {"symbol": px.SYMBOL, "amount": 1.5}, "whole"),
        ("buy", {"symbol": px.SYMBOL, "amount": 92}, "cash"),
        ("sell", {"symbol": px.SYMBOL, "amount": 1}, "shares"),
        ("buy", {"symbol": "not a symbol", "amount": 1}, "ticker"),
    ],
)
async def test_forbidden_trades_are_refused_in_plain_words_and_write_nothing(
    trade_url, daily_run, tool, arguments, reason
):
    text = await call(trade_url, daily_run.credential, tool, **arguments)
    assert text.startswith("Refused:") and reason in text.lower()
    assert await positions(daily_run.run) == []


async def test_the_portfolio_tool_values_holdings_at_the_latest_known_price(trade_url, daily_run):
    await call(trade_url, daily_run.credential, "buy", symbol=px.OTHER, amount=2)
    answer = json.loads(await call(trade_url, daily_run.credential, "portfolio"))
    other_open = OPEN_TODAY + 1000
    assert answer["holdings"] == {px.OTHER: 2}
    assert answer["value"] == float(Decimal("10000.00"))  # bought and marked at the same open
    assert answer["prices"] == {px.OTHER: float(other_open)}
    assert answer["allowed_tickers"] == [px.SYMBOL, px.OTHER]


async def test_an_intraday_order_fills_at_the_next_bars_open(settings, trade_url):
    run = await create_running_run(
        settings,
        clock_at=px.hour_start(12),
        allowed_tickers=[px.SYMBOL],
        mode=TradingMode.INTRADAY,
        bar_interval=PriceInterval.HOUR,
    )
    answer = json.loads(await call(trade_url, run.credential, "buy", symbol=px.SYMBOL, amount=3))
    assert answer["price"] == float(px.hourly_open(13))
    [row] = await positions(run.run)
    assert row.timestamp == px.hour_start(13)


async def test_at_the_last_bar_of_a_session_orders_cannot_fill(settings, trade_url):
    run = await create_running_run(
        settings,
        clock_at=px.hour_start(15),
        allowed_tickers=[px.SYMBOL],
        mode=TradingMode.INTRADAY,
        bar_interval=PriceInterval.HOUR,
    )
    text = await call(trade_url, run.credential, "buy", symbol=px.SYMBOL, amount=1)
    assert text.startswith("Refused:") and "no later" in text.lower()


async def test_trading_without_a_credential_is_refused(trade_url):
    assert (await call(trade_url, None, "buy", symbol=px.SYMBOL, amount=1)).startswith("Refused:")


async def test_concurrent_buys_of_one_run_never_overspend(trade_url, daily_run):
    """Ten sessions buy 20 shares (2,180.00 each) at once; 10,000.00 pays for exactly four."""
    results = await asyncio.gather(
        *[call(trade_url, daily_run.credential, "buy", symbol=px.SYMBOL, amount=20) for _ in range(10)]
    )
    filled = [r for r in results if not r.startswith("Refused:")]
    assert len(filled) == 4
    assert all("cash" in r for r in results if r.startswith("Refused:"))
    rows = await positions(daily_run.run)
    assert [p.action_id for p in rows] == [1, 2, 3, 4]
    assert rows[-1].cash == Decimal("10000.00") - 80 * OPEN_TODAY
    assert rows[-1].holdings == {px.SYMBOL: 80}


async def costly_run(settings, **costs):
    costs = TradingCosts(**{name: Decimal(value) for name, value in costs.items()})
    return await create_running_run(
        settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL, px.OTHER], costs=costs
    )


async def test_a_buy_pays_the_models_slippage_and_commission(settings, trade_url):
    run = await costly_run(settings, commission_fixed="1.00", slippage_bps="10")
    answer = json.loads(await call(trade_url, run.credential, "buy", symbol=px.SYMBOL, amount=7))
    # 109 x 1.001 = 109.109; 7 shares: 763.763 and a 1.00 fee
    assert answer["result"] == "Bought 7 LKAH at 109.11 (the market price 109.00 moved 10 bp against you); fee 1.00."
    assert (answer["price"], answer["fee"]) == (109.109, 1.0)
    assert answer["cash"] == float(Decimal("10000.00") - Decimal("763.763") - Decimal("1.00"))
    [row] = await positions(run.run)
    assert (row.price, row.fee, row.cash) == (Decimal("109.109"), Decimal("1.00"), Decimal("9235.237"))


async def test_a_buy_above_the_position_cap_is_refused_with_the_shares_that_fit(settings, trade_url):
    run = await costly_run(settings, max_position_weight="0.2")
    text = await call(trade_url, run.credential, "buy", symbol=px.SYMBOL, amount=20)  # 2,180 of 10,000
    assert text == (
        "Refused: Position cap: after buying 20 LKAH at 109.00, LKAH would be 21.80 % of the portfolio's value but "
        "this model allows at most 20.00 % in one symbol; with 0 held, at most 18 more shares fit."
    )
    assert await positions(run.run) == []
    assert "Bought 18" in await call(trade_url, run.credential, "buy", symbol=px.SYMBOL, amount=18)


async def test_the_cap_values_the_other_holdings_at_todays_open(settings, trade_url):
    run = await costly_run(settings, max_position_weight="0.5")
    await call(trade_url, run.credential, "buy", symbol=px.OTHER, amount=4)  # 4 x 1,109 = 4,436
    # 46 LKAH = 5,014 of 550 + 4,436 + 5,014 = 10,000: 50.14 %; 45 are 4,905 (49.05 %)
    text = await call(trade_url, run.credential, "buy", symbol=px.SYMBOL, amount=46)
    assert text.startswith("Refused: Position cap") and "50.14 %" in text and "at most 45 more shares" in text


async def test_the_portfolio_tool_lists_no_action_of_an_earlier_day(settings, trade_url):
    run = await costly_run(settings)
    await apply_corporate_action(
        run.run,
        Action.dividend(px.SYMBOL, DAYS[TODAY - 1], Decimal("0.25"), "test"),
        timestamp=px.session_open(DAYS[TODAY - 1]),
    )
    answer = json.loads(await call(trade_url, run.credential, "portfolio"))
    assert answer["corporate_actions_today"] == [] and answer["cash"] == 10000.0


async def test_the_portfolio_tool_lists_the_costs_and_todays_corporate_actions(settings, trade_url):
    run = await costly_run(settings, commission_bps="2.5", max_position_weight="0.75")
    await call(trade_url, run.credential, "buy", symbol=px.SYMBOL, amount=10)
    await apply_corporate_action(
        run.run,
        Action.dividend(px.SYMBOL, DAYS[TODAY - 1], Decimal("0.25"), "test"),  # yesterday's: not listed
        timestamp=px.session_open(DAYS[TODAY - 1]),
    )
    await apply_corporate_action(
        run.run,
        Action.dividend(px.SYMBOL, DAYS[TODAY], Decimal("0.40"), "test"),
        timestamp=px.session_open(DAYS[TODAY]),
    )
    answer = json.loads(await call(trade_url, run.credential, "portfolio"))
    assert answer["costs"] == {
        "commission_fixed": 0.0,
        "commission_bps": 2.5,
        "commission_minimum": 0.0,
        "slippage_bps": 0.0,
        "max_position_weight": 0.75,
    }
    # 10 x 109 = 1,090 with a 2.5 bp fee of 0.27 (0.2725), then 10 x 0.25 and 10 x 0.40 of dividends
    cash = float(Decimal("10000") - Decimal("1090") - Decimal("0.27") + Decimal("2.50") + Decimal("4.00"))
    assert answer["cash"] == cash
    assert answer["corporate_actions_today"] == [
        {
            "action": "DIVIDEND",
            "symbol": px.SYMBOL,
            "ex_date": DAYS[TODAY].isoformat(),
            "shares_before": 10,
            "cash_per_share": 0.4,
            "holdings_after": {px.SYMBOL: 10},
            "cash_after": cash,
        }
    ]
