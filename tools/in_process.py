"""The tool servers inside the API process (embedded mode), reached over the MCP SDK's in-memory transport.

The same FastMCP servers and the same MCP protocol as over streamable HTTP, but no port: a machine whose
port 8000 is taken still serves. Each session runs its own server loop on a pair of memory streams. Over
HTTP the run credential travels as a request header; here every message the client sends carries a
request with the same headers, so the tools read the credential the same way (tools/run_context.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from anyio.abc import ObjectSendStream
from mcp import ClientSession
from mcp.server.fastmcp import FastMCP
from mcp.shared.memory import create_client_server_memory_streams
from mcp.shared.message import ServerMessageMetadata, SessionMessage
from starlette.requests import Request

logger = logging.getLogger("aibt.tools")

IN_PROCESS_URL = "in-process://{name}"


def in_process_url(name: str) -> str:
    """What status pages show as the address of a server with no port."""
    return IN_PROCESS_URL.format(name=name)


def _request_with_headers(headers: Mapping[str, str]) -> Request:
    """A request carrying the connection's headers, as the HTTP transport hands the server one per message."""
    raw = [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/mcp", "headers": raw})


class _WithRequest(ObjectSendStream[SessionMessage]):
    """The client's write stream, stamping each message with the connection's request on its way in."""

    def __init__(self, inner: ObjectSendStream[SessionMessage], request: Request) -> None:
        self._inner = inner
        self._metadata = ServerMessageMetadata(request_context=request)

    async def send(self, item: SessionMessage) -> None:
        await self._inner.send(SessionMessage(item.message, metadata=self._metadata))

    async def aclose(self) -> None:
        await self._inner.aclose()


@asynccontextmanager
async def connect(server: FastMCP, headers: Mapping[str, str] | None = None) -> AsyncIterator[ClientSession]:
    """An initialized client session with `server`, whose tools see `headers` as the request's headers.

    Enter and leave it in the same task: the server loop lives in a task group opened here.
    """
    request = _request_with_headers(headers or {})
    async with create_client_server_memory_streams() as ((client_read, client_write), (server_read, server_write)):
        # FastMCP has no public "run on these streams"; the SDK's own in-memory helper runs its
        # low-level server the same way.
        lowlevel = server._mcp_server
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: lowlevel.run(server_read, server_write, lowlevel.create_initialization_options()))
            try:
                async with ClientSession(client_read, _WithRequest(client_write, request)) as session:
                    await session.initialize()
                    yield session
            finally:
                group.cancel_scope.cancel()


@dataclass
class InProcessToolServers:
    """The tool servers of this process; `stop()` takes them out of reach again."""

    servers: dict[str, FastMCP]

    async def stop(self) -> None:
        global _running
        if _running is self:
            _running = None


_running: InProcessToolServers | None = None


def start_in_process_tool_servers(servers: Mapping[str, FastMCP]) -> InProcessToolServers:
    """Makes the servers this process's own: run sessions and status checks reach them in memory."""
    global _running
    _running = InProcessToolServers(dict(servers))
    logger.info("tool servers running in this process (no ports): %s", ", ".join(servers))
    return _running


def in_process_servers(names: Iterable[str] | None = None) -> dict[str, FastMCP]:
    """The servers running in this process among `names` (all of them by default); none unless embedded."""
    if _running is None:
        return {}
    wanted = set(_running.servers if names is None else names)
    return {name: server for name, server in _running.servers.items() if name in wanted}
