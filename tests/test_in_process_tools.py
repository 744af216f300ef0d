"""The tool servers of an embedded process, reached in memory: the run credential still decides everything."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest_asyncio

from db_models.runs import ActionType, Position, RunStatus
from tasks.tool_sessions import run_tools
from tests.support import price_fixtures as px
from tests.support.tool_servers import call_text, create_running_run
from tools.in_process import in_process_servers
from tools.launcher import start_embedded_tool_servers, tool_server_status

DAYS = px.trading_days()
TODAY = 9
OPEN_TODAY = px.daily_open(TODAY)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def embedded_tools(server_url) -> AsyncIterator[None]:
    async with px.test_bars():
        servers = start_embedded_tool_servers()
        try:
            yield
        finally:
            await servers.stop()


async def _run(settings):
    return await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL])


async def _call(credential: str, tool: str, **arguments) -> str:
    async with run_tools(credential) as tools:
        return await call_text({t.name: t for t in tools}[tool], **arguments)


async def test_a_buy_in_memory_lands_in_the_run_its_credential_names(settings, embedded_tools):
    mine, other = await _run(settings), await _run(settings)
    answer = json.loads(await _call(mine.credential, "buy", symbol=px.SYMBOL, amount=3))
    assert answer["price"] == float(OPEN_TODAY) and answer["holdings"] == {px.SYMBOL: 3}
    [row] = await Position.filter(run_id=mine.run.id)
    assert (row.action, row.amount, row.cash) == (ActionType.BUY, 3, Decimal("10000.00") - 3 * OPEN_TODAY)
    assert await Position.filter(run_id=other.run.id).count() == 0
    assert json.loads(await _call(other.credential, "portfolio"))["holdings"] == {}


async def test_without_a_valid_credential_of_a_running_run_the_tools_refuse(settings, embedded_tools):
    assert "none was sent" in await _call("", "portfolio")
    assert "not valid" in await _call("forged", "quote", symbol=px.SYMBOL)
    finished = await _run(settings)
    finished.run.status = RunStatus.COMPLETED
    await finished.run.save(update_fields=["status"])
    assert "not running" in await _call(finished.credential, "buy", symbol=px.SYMBOL, amount=1)
    assert await Position.filter(run_id=finished.run.id).count() == 0


async def test_math_needs_no_credential_and_status_shows_servers_without_ports(embedded_tools):
    assert await _call("", "add", a=2, b=3) == "5"
    statuses = await tool_server_status()
    assert [(s.name, s.url, s.healthy) for s in statuses] == [
        (name, f"in-process://{name}", True) for name in ("math", "search", "price", "trade")
    ]


async def test_stopping_takes_the_servers_out_of_reach(embedded_tools):
    servers = start_embedded_tool_servers()
    assert set(in_process_servers()) == {"math", "search", "price", "trade"}
    await servers.stop()
    assert in_process_servers() == {}
