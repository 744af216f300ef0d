"""The process's MCP tool sessions: one per tool server, opened on first use and shared by every run of the
process, with the servers' tools converted once.

Opening a run's four sessions (initialize, tool list, event stream, a TCP connection each, and a DELETE at
the end) took more of the worker's event loop than the run's tool calls. A shared session carries no run
credential: each call of a built-in server's tool carries the credential of the run making it, in the call's
`_meta` (tools/credentials.py), taken from the run's context (`run_tools` sets it), so one session serves
many runs at once and every call still names its own run. External servers get their own headers, never
the credential.

Built-in servers running in this process (embedded mode) are reached over the in-memory transport, the
others over streamable HTTP. A session a call failed on (rather than answered with an error) is retired:
the next call opens a new one, and the old one closes once no call uses it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
from langchain_core.tools import BaseTool
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.interceptors import MCPToolCallRequest
from langchain_mcp_adapters.tools import load_mcp_tools
from mcp import ClientSession
from mcp.types import CallToolResult

from tools.credentials import META_KEY
from tools.extra_servers import ExtraServer
from tools.http_clients import mcp_http_client
from tools.in_process import connect, in_process_servers, in_process_url
from tools.launcher import server_url

logger = logging.getLogger("aibt.tools")

TRADING_SERVERS = ("math", "search", "price", "trade")


class ToolServersUnavailable(Exception):
    """A tool server the run needs did not answer."""


class ToolServerLost(httpx.TransportError):
    """A tool server stopped answering mid-run: a transport failure, so the step fails (and is retried) instead
    of the model reading it as its own mistake (agents/agent_loop.py: TRANSPORT_ERRORS)."""


_tool_transport: ContextVar[bool] = ContextVar("aibt_tool_transport", default=False)
_run_credential: ContextVar[str | None] = ContextVar("aibt_run_credential", default=None)


class _QuietToolRequests(logging.Filter):
    """httpx logs every request at INFO: over HTTP, a line per tool call in the worker's log (with an external
    server's URL, and any token in its query string). The sessions' transport tasks start while the flag is
    set and keep it; the run's other requests (the model's) are logged as before."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _tool_transport.get()


logging.getLogger("httpx").addFilter(_QuietToolRequests())


@dataclass(frozen=True)
class _Target:
    """A server as this process reaches it; another address (or another embedded server) is another target."""

    name: str
    key: Hashable
    url: str
    shown_url: str  # what errors show: an external URL's query string may carry its token
    open: Callable[[], AbstractAsyncContextManager[ClientSession]]
    external: bool  # named <server>_<tool>, so it cannot shadow a built-in tool; never sent the credential


def _targets(servers: Sequence[str], extra: Sequence[ExtraServer]) -> list[_Target]:
    local = in_process_servers(servers)
    targets = []
    for name in servers:
        if name in local:
            server, url = local[name], in_process_url(name)
            targets.append(_Target(name, server, url, url, lambda s=server: connect(s), False))
        else:
            url = server_url(name)
            connection = {"transport": "streamable_http", "url": url, "httpx_client_factory": mcp_http_client}
            client = MultiServerMCPClient({name: connection})
            targets.append(_Target(name, url, url, url, lambda c=client, n=name: c.session(n), False))
    for server in extra:
        client = MultiServerMCPClient({server.name: server.connection()})
        key = (server.url, tuple(sorted(server.headers.items())))
        opener = lambda c=client, n=server.name: c.session(n)  # noqa: E731
        targets.append(_Target(server.name, key, server.url, server.public_url, opener, True))
    return targets


class _Session:
    """One open MCP session, held open by a task of its own (the SDK's task groups must be left by the task
    that entered them) until it is retired and no call is using it."""

    def __init__(self, target: _Target) -> None:
        self._opened: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        self._release = asyncio.Event()
        self.retired = False
        self.in_flight = 0
        self._calls: set[asyncio.Timeout] = set()  # the calls waiting on it, failed at once if it ends
        # A context of its own: the run that happens to open the session must not lend it its credential.
        self._task = asyncio.create_task(
            self._hold(target), name=f"aibt-mcp-session-{target.name}", context=contextvars.Context()
        )

    async def _hold(self, target: _Target) -> None:
        _tool_transport.set(True)  # this task's context: its transport's requests are not logged
        try:
            async with target.open() as session:
                self._opened.set_result(session)
                await self._release.wait()
        except Exception as exc:
            if not self._opened.done():
                self._opened.set_exception(exc)
            else:
                logger.warning("the %s tool server's session ended: %r", target.name, exc)
        finally:
            self.retired = True
            if not self._opened.done():
                self._opened.cancel()
            now = asyncio.get_running_loop().time()
            for call in self._calls:  # the SDK may never answer them once its transport has failed
                call.reschedule(now)

    async def session(self) -> ClientSession:
        return await asyncio.shield(self._opened)  # a waiter cancelled must not cancel the opening for others

    async def call(self, name: str, arguments: dict[str, Any], meta: dict[str, Any] | None) -> CallToolResult:
        """A tools/call on this session; raises ToolServerLost if the session ends before the answer."""
        session = await self.session()
        self.in_flight += 1
        try:
            async with asyncio.timeout(None) as lost:
                self._calls.add(lost)
                try:
                    return await session.call_tool(name, arguments, meta=meta)
                finally:
                    self._calls.discard(lost)
        except TimeoutError as exc:
            if lost.expired():
                raise ToolServerLost(f"The {name} tool's session ended before it answered.") from exc
            raise
        finally:
            self.in_flight -= 1
            if self.retired:
                self.retire()  # closes it once this was its last call

    def retire(self) -> None:
        self.retired = True
        if self.in_flight == 0:
            self._release.set()

    async def close(self) -> None:
        self._release.set()
        await asyncio.gather(self._task, return_exceptions=True)


class _Server:
    """A tool server's tools, converted once, and the session their calls currently go to."""

    def __init__(self, target: _Target) -> None:
        self.target = target
        self._session: _Session | None = None
        self._opening = asyncio.Lock()
        self._listing = asyncio.Lock()
        self._tools: list[BaseTool] | None = None

    async def _live(self) -> tuple[_Session, ClientSession]:
        async with self._opening:  # the runs that find no session wait for the one opening
            if self._session is None or self._session.retired:
                self._session = _Session(self.target)
            current = self._session
        try:
            return current, await current.session()
        except Exception as exc:  # connection refused, timeouts, protocol errors: all mean "not there"
            target = self.target
            detail = str(exc).replace(target.url, target.shown_url)
            raise ToolServersUnavailable(
                f"The {target.name} tool server at {target.shown_url} is unavailable ({detail})."
            ) from exc

    async def tools(self) -> list[BaseTool]:
        """The server's tools as the library converts them, listed once. Their calls go through `_call`, which
        answers them itself on the session live at the time (the one they were listed on may be gone)."""
        async with self._listing:  # the runs that start together wait for the one listing
            if self._tools is None:
                _, session = await self._live()
                target = self.target
                self._tools = await load_mcp_tools(
                    session, server_name=target.name, tool_name_prefix=target.external, tool_interceptors=[self._call]
                )
        return self._tools

    async def _call(self, request: MCPToolCallRequest, handler: Any) -> CallToolResult:
        """A tool call on the live session, with the credential of the run making it (built-in servers only)."""
        credential = None if self.target.external else _run_credential.get()
        meta = {META_KEY: credential} if credential else None
        try:
            current, _ = await self._live()
        except ToolServersUnavailable as exc:
            raise ToolServerLost(str(exc)) from exc
        try:
            return await current.call(request.name, request.args, meta)
        except Exception:  # not an answer, even an error one: the session may be broken; later calls open another
            current.retire()
            raise

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class ToolSessions:
    """The tool servers' sessions of one event loop, by server name."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._servers: dict[str, _Server] = {}
        self._closing: set[asyncio.Task] = set()

    async def tools(self, targets: Sequence[_Target]) -> list[BaseTool]:
        tools: list[BaseTool] = []
        for target in targets:
            tools += await self._server(target).tools()
        return tools

    def _server(self, target: _Target) -> _Server:
        server = self._servers.get(target.name)
        if server is None or server.target.key != target.key:
            if server is not None:  # the server moved (or the embedded one was replaced): its session goes
                closing = asyncio.create_task(server.close())
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
            server = self._servers[target.name] = _Server(target)
        return server

    async def close(self) -> None:
        servers, self._servers = list(self._servers.values()), {}
        await asyncio.gather(*(server.close() for server in servers), *self._closing)


_sessions: ToolSessions | None = None


def _process_sessions() -> ToolSessions:
    global _sessions
    if _sessions is None or _sessions.loop is not asyncio.get_running_loop():
        _sessions = ToolSessions()
    return _sessions


async def close_tool_sessions() -> None:
    """Ends the process's tool sessions (at shutdown); later runs would open new ones."""
    global _sessions
    sessions, _sessions = _sessions, None
    if sessions is not None and sessions.loop is asyncio.get_running_loop():
        await sessions.close()


@asynccontextmanager
async def run_tools(
    credential: str, servers: tuple[str, ...] = TRADING_SERVERS, extra: Sequence[ExtraServer] = ()
) -> AsyncIterator[list[BaseTool]]:
    """The tools of `servers` and the `extra` servers, whose calls in this block (and the tasks it starts)
    carry `credential`. Raises ToolServersUnavailable when one of them does not answer."""
    tools = await _process_sessions().tools(_targets(servers, extra))
    acting_for = _run_credential.set(credential)
    try:
        yield tools
    finally:
        _run_credential.reset(acting_for)
