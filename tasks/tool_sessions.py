"""Opens the run's MCP tool sessions once for the whole run: the built-in servers with the run's credential
as a header, and the external servers its model opted into with their own headers (never the credential).

Built-in servers running in this process (embedded mode) are reached over the in-memory transport, the
others over streamable HTTP."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from contextvars import ContextVar

from langchain_core.tools import BaseTool
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.tools import load_mcp_tools
from mcp import ClientSession

from tools.credentials import HEADER
from tools.extra_servers import ExtraServer
from tools.http_clients import mcp_http_client
from tools.in_process import connect, in_process_servers, in_process_url
from tools.launcher import server_url

TRADING_SERVERS = ("math", "search", "price", "trade")


class ToolServersUnavailable(Exception):
    """A tool server the run needs did not answer."""


_tool_transport: ContextVar[bool] = ContextVar("aibt_tool_transport", default=False)


class _QuietToolRequests(logging.Filter):
    """httpx logs every request at INFO: over HTTP, a line per tool call in the worker's log (with an external
    server's URL, and any token in its query string). The sessions' transport tasks start while the flag is
    set and keep it; the run's other requests (the model's) are logged as before."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _tool_transport.get()


logging.getLogger("httpx").addFilter(_QuietToolRequests())


@asynccontextmanager
async def run_tools(
    credential: str, servers: tuple[str, ...] = TRADING_SERVERS, extra: Sequence[ExtraServer] = ()
) -> AsyncIterator[list[BaseTool]]:
    """Persistent sessions (one per server) for the life of the run, instead of one per call.

    External servers' tools are named `<server>_<tool>`, so they cannot shadow a built-in tool."""
    headers = {HEADER: credential}
    local = in_process_servers(servers)
    urls = {name: server_url(name) for name in servers if name not in local}
    connections = {
        name: {"transport": "streamable_http", "url": url, "headers": headers, "httpx_client_factory": mcp_http_client}
        for name, url in urls.items()
    }
    connections.update({server.name: server.connection() for server in extra})
    client = MultiServerMCPClient(connections)
    async with AsyncExitStack() as stack:
        tools: list[BaseTool] = []
        quiet = _tool_transport.set(True)
        try:
            for name in servers:
                if name in local:
                    tools += await _load(stack, connect(local[name], headers), name, in_process_url(name))
                else:
                    tools += await _load(stack, client.session(name), name, urls[name])
            for server in extra:
                session = client.session(server.name)
                tools += await _load(stack, session, server.name, server.url, server.public_url, prefix=True)
        finally:
            _tool_transport.reset(quiet)
        yield tools


async def _load(
    stack: AsyncExitStack,
    session: AbstractAsyncContextManager[ClientSession],
    name: str,
    url: str,
    shown_url: str | None = None,
    *,
    prefix: bool = False,
) -> list[BaseTool]:
    shown_url = shown_url or url
    try:
        opened = await stack.enter_async_context(session)
        return await load_mcp_tools(opened, server_name=name, tool_name_prefix=prefix)
    except Exception as exc:  # connection refused, timeouts, protocol errors: all mean "not there"
        detail = str(exc).replace(url, shown_url)  # an external URL's query string may carry its token
        raise ToolServersUnavailable(f"The {name} tool server at {shown_url} is unavailable ({detail}).") from exc
