"""Tool servers for tests: started in-process on free ports, reached over HTTP as the agents reach them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from langchain_core.tools import BaseTool
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.tools import load_mcp_tools

from db_models.settings import Settings
from tools.credentials import HEADER, issue_run_credential
from tools.launcher import start_tool_servers


@asynccontextmanager
async def running_tool_servers(*names: str) -> AsyncIterator[dict[str, str]]:
    """Starts the named servers on free loopback ports; yields {name: url} and stops them after."""
    servers = await start_tool_servers(names, host="127.0.0.1", ports={name: 0 for name in names})
    try:
        yield dict(servers.urls)
    finally:
        await servers.stop()


def mcp_client(
    urls: Mapping[str, str], credential: str | None = None, extra_headers: Mapping[str, str] | None = None
) -> MultiServerMCPClient:
    """A client for the given servers that sends the run credential the way the worker does."""
    headers = {**({HEADER: credential} if credential else {}), **(extra_headers or {})}
    return MultiServerMCPClient(
        {name: {"transport": "streamable_http", "url": url, "headers": dict(headers)} for name, url in urls.items()}
    )


@asynccontextmanager
async def session_tools(client: MultiServerMCPClient, name: str) -> AsyncIterator[dict[str, BaseTool]]:
    """The named server's tools, by tool name, over one persistent session (as a run keeps it).

    Enter and leave it in the same task (the test body): the session's anyio task group cannot be
    opened in one pytest fixture task and closed in another. Fixtures can hold
    `await client.get_tools()` instead, whose tools open a session per call.
    """
    async with client.session(name) as session:
        yield {tool.name: tool for tool in await load_mcp_tools(session)}


async def call_text(tool: BaseTool, **arguments: object) -> str:
    """Calls a tool and joins the text of its content blocks: what the agent reads."""
    content = await tool.ainvoke(arguments)
    if isinstance(content, str):
        return content
    return "\n".join(block["text"] if isinstance(block, dict) else str(block) for block in content)


@dataclass
class ToolRun:
    run: object  # db_models.runs.Run
    credential: str


async def create_running_run(
    settings: Settings,
    *,
    clock_at: datetime,
    allowed_tickers: Iterable[str] = ("AAPL", "MSFT"),
    initial_cash: str = "10000.00",
    costs: object | None = None,
    **run_fields: object,
) -> ToolRun:
    """A fresh user, trading model and RUNNING daily run with its clock at `clock_at`, plus its credential;
    `costs` (a db_models.costs.TradingCosts) goes into its snapshot.

    Needs Tortoise initialised in this process (depend on the `server_url` fixture).
    """
    from db_models.accounts import User
    from db_models.runs import Run, RunStatus, TradingMode
    from db_models.trading import TradingModel

    tickers = list(allowed_tickers)
    tag = uuid.uuid4().hex[:10]
    user = await User.create(email=f"tools-{tag}@example.com", password_hash="not-a-real-hash")
    model = await TradingModel.create(
        owner=user,
        name=f"Tools {tag}",
        signature=f"tools-{tag}",
        allowed_tickers=tickers,
        initial_cash=Decimal(initial_cash),
        ai_model="local/momentum",
    )
    fields = {
        "model": model,
        "run_number": 1,
        "mode": TradingMode.DAILY,
        "status": RunStatus.RUNNING,
        "started_at": datetime.now(UTC),
        "clock_at": clock_at,
        "strategy_snapshot": {
            "initial_cash": initial_cash,
            "allowed_tickers": tickers,
            **({} if costs is None else {"costs": costs.to_snapshot()}),
        },
        **run_fields,
    }
    run = await Run.create(**fields)
    return ToolRun(run=run, credential=issue_run_credential(settings, run.id))
