"""The worker's tool sessions over streamable HTTP: one per server for the whole process, shared by the runs
at once, each call still acting for the run that makes it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from db_models.runs import Position
from tasks.tool_sessions import ToolServerLost, close_tool_sessions, run_tools
from tests.support import price_fixtures as px
from tests.support.tool_servers import call_text, create_running_run, running_tool_servers

DAYS = px.trading_days()
TODAY = 9


@pytest_asyncio.fixture(loop_scope="session")
async def trade_server(server_url, monkeypatch) -> AsyncIterator[str]:
    """The trade server on a port of its own, where the worker's sessions look for it."""
    async with px.test_bars(), running_tool_servers("trade") as urls:
        monkeypatch.setenv("AIBT_TRADE_URL", urls["trade"])
        try:
            yield urls["trade"]
        finally:
            await close_tool_sessions()


async def _running_run(settings):
    return await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL])


async def test_runs_at_once_share_one_session_and_each_call_lands_in_its_own_run(settings, trade_server):
    runs = [await _running_run(settings) for _ in range(4)]
    seen_tools = []

    async def buy(amount: int, credential: str) -> dict:
        async with run_tools(credential, servers=("trade",)) as tools:
            seen_tools.append(tools)
            buy_tool = {tool.name: tool for tool in tools}["buy"]
            await asyncio.sleep(0)  # the runs' calls interleave on the one session
            return json.loads(await call_text(buy_tool, symbol=px.SYMBOL, amount=amount))

    answers = await asyncio.gather(*(buy(i + 1, run.credential) for i, run in enumerate(runs)))

    assert [answer["holdings"] for answer in answers] == [{px.SYMBOL: i + 1} for i in range(len(runs))]
    for i, run in enumerate(runs):
        assert await Position.filter(run_id=run.run.id).values_list("amount", flat=True) == [i + 1]
    assert all(tools[0] is seen_tools[0][0] for tools in seen_tools)  # converted once, for every run


async def test_a_call_outside_a_run_carries_no_credential_and_is_refused(settings, trade_server):
    run = await _running_run(settings)
    async with run_tools(run.credential, servers=("trade",)) as tools:
        portfolio = {tool.name: tool for tool in tools}["portfolio"]
    assert "none was sent" in await call_text(portfolio)  # the block that lent it the credential has ended


async def test_a_server_gone_mid_run_fails_its_calls_as_transport_errors(settings, server_url, monkeypatch):
    """The session breaks under the call that finds the server gone, and no new one opens for the next: both
    are transport failures (the step fails and is retried), neither hangs nor reads as the model's mistake."""
    run = await _running_run(settings)
    async with px.test_bars():
        async with running_tool_servers("trade") as urls:
            monkeypatch.setenv("AIBT_TRADE_URL", urls["trade"])
            async with run_tools(run.credential, servers=("trade",)) as tools:
                portfolio = {tool.name: tool for tool in tools}["portfolio"]
                assert json.loads(await call_text(portfolio))["holdings"] == {}
        try:
            async with run_tools(run.credential, servers=("trade",)):
                for _ in range(2):
                    with pytest.raises(ToolServerLost):
                        await asyncio.wait_for(call_text(portfolio), timeout=10)
        finally:
            await close_tool_sessions()
