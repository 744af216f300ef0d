"""Starts the MCP tool servers (math, search, price, trade) on loopback ports, and checks them.

Each server lives in `tools/<name>_server.py` and exposes `create_server() -> FastMCP`; the module is
imported by name only when the server starts. `aibt tools` serves each over streamable HTTP at
`http://<host>:<port>/mcp`. Ports default to the registry below; `AIBT_TOOLS_HOST` and
`AIBT_<NAME>_PORT` override them, and `AIBT_<NAME>_URL` tells clients (workers, the status check)
where a server lives when it runs on another machine. An embedded API runs the servers in its own
process instead, with no port (tools/in_process.py).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import anyio
import uvicorn
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.fastmcp import FastMCP

from db_models.settings import Settings
from tools.http_clients import http_client
from tools.in_process import (
    InProcessToolServers,
    connect,
    in_process_servers,
    in_process_url,
    start_in_process_tool_servers,
)

logger = logging.getLogger("aibt.tools")

DEFAULT_PORTS: dict[str, int] = {"math": 8000, "search": 8001, "price": 8002, "trade": 8003}
LOOPBACK = "127.0.0.1"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
STATUS_TIMEOUT = 2.0


class _QuietSessionClose(logging.Filter):
    """mcp 1.x logs a stack trace whenever a client ends its session while the server's standalone
    SSE stream is open (every session does): drop that record, keep every other."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.getMessage() == "Error in standalone SSE writer"
            and record.exc_info
            and type(record.exc_info[1]).__name__ == "ClosedResourceError"
        )


logging.getLogger("mcp.server.streamable_http").addFilter(_QuietSessionClose())
# The low-level server logs "Processing request of type ..." at INFO for every call: a line per tool call in
# the tools' log at the default level, and the formatting on every call's path. Warnings and errors still show.
logging.getLogger("mcp.server.lowlevel.server").setLevel(logging.WARNING)


class ToolServerError(Exception):
    """A tool server cannot start: its name is unknown, its module is missing, or its port is taken."""


def tools_host() -> str:
    return os.environ.get("AIBT_TOOLS_HOST", LOOPBACK)


def server_port(name: str) -> int:
    _check_name(name)
    return int(os.environ.get(f"AIBT_{name.upper()}_PORT", DEFAULT_PORTS[name]))


def server_url(name: str) -> str:
    """Where clients reach the named server: `AIBT_<NAME>_URL`, else the configured host and port."""
    _check_name(name)
    configured = os.environ.get(f"AIBT_{name.upper()}_URL")
    if configured:
        return configured
    host = tools_host()
    if host in ("0.0.0.0", "::", ""):
        host = LOOPBACK
    return _mcp_url(host, server_port(name))


def server_urls(names: Iterable[str] | None = None) -> dict[str, str]:
    return {name: server_url(name) for name in (names or DEFAULT_PORTS)}


def create_server(name: str) -> FastMCP:
    """A fresh FastMCP instance of the named server (its session manager runs only once)."""
    _check_name(name)
    module_name = f"tools.{name}_server"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise ToolServerError(f"The {name} tool server ({module_name}) is not installed.") from None
    return module.create_server()


def installed_servers() -> list[str]:
    """The registered servers whose module is present (for embedded mode, which starts what it has)."""
    return [name for name in DEFAULT_PORTS if importlib.util.find_spec(f"tools.{name}_server") is not None]


def start_embedded_tool_servers() -> InProcessToolServers:
    """Every installed server inside an embedded API process, reached in memory: it binds no port, so a
    port taken by another program cannot keep the tools from starting."""
    return start_in_process_tool_servers({name: create_server(name) for name in installed_servers()})


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host process (the API, the CLI, a test)."""

    def capture_signals(self):  # type: ignore[override]
        return _NoSignals()


class _NoSignals:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass
class RunningToolServers(AbstractAsyncContextManager["RunningToolServers"]):
    """Tool servers running in this event loop; `stop()` (or leaving the `async with`) shuts them down."""

    urls: dict[str, str]
    _servers: list[uvicorn.Server] = field(default_factory=list, repr=False)
    _tasks: list[asyncio.Task] = field(default_factory=list, repr=False)

    async def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        for name, result in zip(self.urls, results, strict=False):
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                logger.warning("tool server %s stopped with %r", name, result)
        self._servers.clear()
        self._tasks.clear()

    async def wait(self) -> None:
        """Until every server has stopped (for a process that only serves tools)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> RunningToolServers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def start_tool_servers(
    names: Iterable[str] | None = None,
    *,
    host: str | None = None,
    ports: Mapping[str, int] | None = None,
) -> RunningToolServers:
    """Starts the named servers (all four by default) and returns once each accepts connections.

    `ports` overrides the configured port per name; port 0 picks a free one (the URL shows which).
    A missing module or a taken port raises ToolServerError and leaves nothing running.
    """
    names = list(names or DEFAULT_PORTS)
    host = host or tools_host()
    apps = {name: _http_app(create_server(name), host) for name in names}
    sockets: dict[str, socket.socket] = {}
    try:
        for name in names:
            port = (ports or {}).get(name, server_port(name))
            sockets[name] = _bind(name, host, port)
    except ToolServerError:
        for sock in sockets.values():
            sock.close()
        raise

    running = RunningToolServers(urls={})
    for name in names:
        sock = sockets[name]
        # No log_config or log_level: the host process (API, CLI, tests) owns the logging set-up.
        config = uvicorn.Config(
            apps[name], lifespan="on", timeout_graceful_shutdown=3, log_config=None, log_level=None, access_log=False
        )
        server = _EmbeddedServer(config)
        running._servers.append(server)
        running._tasks.append(asyncio.create_task(server.serve(sockets=[sock]), name=f"aibt-tools-{name}"))
        port = sock.getsockname()[1]
        running.urls[name] = _mcp_url(LOOPBACK if host in ("0.0.0.0", "::", "") else host, port)
    try:
        await _wait_started(running)
    except BaseException:
        await running.stop()
        raise
    logger.info("tool servers running: %s", ", ".join(f"{n} at {u}" for n, u in running.urls.items()))
    return running


@dataclass(frozen=True)
class ToolServerStatus:
    name: str
    url: str
    healthy: bool
    tools: tuple[str, ...] = ()
    error: str | None = None
    external: bool = False  # one of the deployment's extra MCP servers, not AIBT's own


async def tool_server_status(
    urls: Mapping[str, str] | None = None, *, timeout: float = STATUS_TIMEOUT
) -> list[ToolServerStatus]:
    """For each server (all configured ones by default, in memory for those running in this process):
    does it answer initialize and list_tools?"""
    if urls is not None:
        checks = [check_server(name, url, timeout=timeout) for name, url in urls.items()]
    else:
        local = in_process_servers()
        checks = [
            check_in_process(name, local[name], timeout=timeout)
            if name in local
            else check_server(name, server_url(name), timeout=timeout)
            for name in DEFAULT_PORTS
        ]
    return list(await asyncio.gather(*checks))


async def check_server(
    name: str, url: str, *, timeout: float = STATUS_TIMEOUT, headers: Mapping[str, str] | None = None
) -> ToolServerStatus:
    """Does the MCP server at url answer initialize and list_tools within the timeout?"""

    @asynccontextmanager
    async def over_http() -> AsyncIterator[ClientSession]:
        async with (
            http_client(timeout=timeout, headers=dict(headers or {})) as http,
            streamable_http_client(url, http_client=http) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session

    return await _answers(name, url, over_http, timeout)


async def check_in_process(name: str, server: FastMCP, *, timeout: float = STATUS_TIMEOUT) -> ToolServerStatus:
    """Does the server running in this process answer initialize and list_tools within the timeout?"""
    return await _answers(name, in_process_url(name), lambda: connect(server), timeout)


async def _answers(
    name: str, url: str, open_session: Callable[[], AbstractAsyncContextManager[ClientSession]], timeout: float
) -> ToolServerStatus:
    try:
        with anyio.fail_after(timeout):
            async with open_session() as session:
                listed = await session.list_tools()
    except TimeoutError:
        return ToolServerStatus(name, url, healthy=False, error=f"no answer within {timeout:g} s")
    except Exception as exc:  # any failure (refused, HTTP error, bad protocol) means unhealthy
        return ToolServerStatus(name, url, healthy=False, error=_describe(exc))
    return ToolServerStatus(name, url, healthy=True, tools=tuple(tool.name for tool in listed.tools))


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _http_app(server: FastMCP, host: str):
    if host not in _LOOPBACK_HOSTS:
        # Reached by other machines under names we cannot list: the Host-header check against DNS
        # rebinding only fits loopback. Tool calls are still bound to a run by its credential.
        server.settings.transport_security = None
    # A call's answer as one JSON body instead of an SSE stream: the client parses one document, and the server
    # needs no event stream per request (a third less CPU per call). The tools send no progress mid-call.
    server.settings.json_response = True
    return server.streamable_http_app()


def _bind(name: str, host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on connections of a socket that says it
    # is TCP. Without it Nagle holds a response's second small write until the client's delayed ACK, about
    # 40 ms on every tool call whose answer is written in more than one piece.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ToolServerError(
            f"The {name} tool server cannot listen on {host}:{port} ({exc.strerror or exc}); "
            f"set AIBT_{name.upper()}_PORT to a free port."
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def _wait_started(running: RunningToolServers) -> None:
    while not all(server.started for server in running._servers):
        for task in running._tasks:
            if task.done():
                exc = task.exception()
                raise ToolServerError(f"A tool server stopped while starting: {exc!r}")
        await asyncio.sleep(0.01)


def _mcp_url(host: str, port: int) -> str:
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/mcp"


def _check_name(name: str) -> None:
    if name not in DEFAULT_PORTS:
        raise ToolServerError(f"Unknown tool server {name!r}; the servers are {', '.join(DEFAULT_PORTS)}.")


async def serve_tool_servers(
    settings: Settings, names: Iterable[str] | None = None, *, host: str | None = None
) -> None:
    """Runs the servers until SIGINT or SIGTERM, with the database open for the tools that read it."""
    from tortoise import Tortoise

    from db_models.config import tortoise_config

    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    try:
        servers = await start_tool_servers(names, host=host)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        for name, url in servers.urls.items():
            print(f"{name} tool server at {url}", flush=True)
        waiting = asyncio.create_task(servers.wait())
        await asyncio.wait([waiting, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        await servers.stop()
        waiting.cancel()
    finally:
        await Tortoise.close_connections()
