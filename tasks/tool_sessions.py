"""Opens the run's MCP tool sessions once for the whole run, with its credential as a header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from langchain_core.tools import BaseTool
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.tools import load_mcp_tools

from tools.credentials import HEADER
from tools.launcher import server_urls

TRADING_SERVERS = ("math", "search", "price", "trade")


class ToolServersUnavailable(Exception):
    """A tool server the run needs did not answer."""


@asynccontextmanager
async def run_tools(credential: str, servers: tuple[str, ...] = TRADING_SERVERS) -> AsyncIterator[list[BaseTool]]:
    """Persistent sessions (one per server) for the life of the run: ~8 ms a call instead of ~70 ms."""
    urls = server_urls(servers)
    client = MultiServerMCPClient(
        {
            name: {"transport": "streamable_http", "url": url, "headers": {HEADER: credential}}
            for name, url in urls.items()
        }
    )
    async with AsyncExitStack() as stack:
        tools: list[BaseTool] = []
        for name in servers:
            try:
                session = await stack.enter_async_context(client.session(name))
                tools += await load_mcp_tools(session)
            except Exception as exc:  # connection refused, timeouts, protocol errors: all mean "not there"
                raise ToolServersUnavailable(f"The {name} tool server at {urls[name]} is unavailable ({exc}).") from exc
        yield tools
