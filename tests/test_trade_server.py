"""The trade tools fill at the run's fill price, refuse what the rules forbid, and never overspend."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
import pytest_asyncio

from db_models.market import PriceInterval
from db_models.runs import ActionType, Position, TradingMode
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
