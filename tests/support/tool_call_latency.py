"""What one MCP tool call over a kept session costs, on each path a run takes, beside its reference.

The paths: streamable HTTP (production: `aibt tools` and workers) and the in-memory transport (embedded
mode), both through `tasks.tool_sessions.run_tools` as a run opens them. The reference for each is the bare
MCP SDK `ClientSession.call_tool` on the same server over the same transport: the protocol's own cost,
without the LangChain adapter. Two tools: `math.add` (no run, no database) and `price.quote` (a run's
credential and the database). Every answer is checked, so a fast wrong answer cannot pass.

Used by tests/benchmarks/test_tool_call_latency.py (figures) and tests/test_benchmark_smoke_tools.py (few
calls, no timing).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tasks.tool_sessions import run_tools
from tests.support import price_fixtures as px
from tests.support.tool_servers import call_text, create_running_run
from tools.credentials import HEADER
from tools.in_process import connect
from tools.launcher import start_embedded_tool_servers, start_tool_servers

SERVERS = ("math", "price")
TODAY = 9  # the run's clock: daily bar 9 of the test series, so quote opens at 109
EXPECTED_QUOTE_OPEN = float(px.daily_open(TODAY))


@dataclass(frozen=True)
class Latency:
    median_ms: float  # wall time of one call, client and server in this process
    cpu_ms: float  # this process's CPU per call: both sides' work, less sensitive to a busy machine
    calls: int


@dataclass(frozen=True)
class PathFigures:
    """One transport: each tool through the run's LangChain tools, and through the bare SDK session."""

    transport: str
    run_tools: dict[str, Latency]
    bare_sdk: dict[str, Latency]

    def ratio(self, tool: str) -> float:
        return self.run_tools[tool].median_ms / self.bare_sdk[tool].median_ms


Call = Callable[[], Awaitable[str]]


async def measure(call: Call, expected: Callable[[str], bool], calls: int, warm_up: int = 5) -> Latency:
    """Median wall time and mean CPU time of `calls` calls, each answer checked by `expected`."""
    for _ in range(warm_up):
        answer = await call()
        assert expected(answer), answer
    samples = []
    cpu_started = time.process_time()
    for _ in range(calls):
        started = time.perf_counter()
        answer = await call()
        samples.append((time.perf_counter() - started) * 1000)
        assert expected(answer), answer
    cpu_ms = (time.process_time() - cpu_started) * 1000 / calls
    return Latency(statistics.median(samples), cpu_ms, calls)


def _is_sum(answer: str) -> bool:
    return answer == "3"


def _is_quote(answer: str) -> bool:
    return json.loads(answer).get("open_today") == EXPECTED_QUOTE_OPEN


ARGUMENTS = {"math": ("add", {"a": 1, "b": 2}, _is_sum), "price": ("quote", {"symbol": px.SYMBOL}, _is_quote)}


async def _measure_tools(calls_of: Callable[[str], Call], calls: int) -> dict[str, Latency]:
    return {
        f"{server}.{tool}": await measure(calls_of(server), ok, calls) for server, (tool, _, ok) in ARGUMENTS.items()
    }


async def _text(session: ClientSession, tool: str, arguments: dict) -> str:
    result = await session.call_tool(tool, arguments)
    return "\n".join(block.text for block in result.content)


async def _through_run_tools(credential: str, calls: int) -> dict[str, Latency]:
    async with run_tools(credential, servers=SERVERS) as tools:
        by_name = {tool.name: tool for tool in tools}

        def calls_of(server: str) -> Call:
            tool, arguments, _ = ARGUMENTS[server]
            return lambda: call_text(by_name[tool], **arguments)

        return await _measure_tools(calls_of, calls)


async def _through_sessions(sessions: dict[str, ClientSession], calls: int) -> dict[str, Latency]:
    def calls_of(server: str) -> Call:
        tool, arguments, _ = ARGUMENTS[server]
        return lambda: _text(sessions[server], tool, arguments)

    return await _measure_tools(calls_of, calls)


@contextmanager
def _clients_reach(urls: dict[str, str]) -> Iterator[None]:
    """Points the run's clients at these servers (AIBT_<NAME>_URL), as a worker is configured."""
    saved = {name: os.environ.get(f"AIBT_{name.upper()}_URL") for name in urls}
    os.environ.update({f"AIBT_{name.upper()}_URL": url for name, url in urls.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(f"AIBT_{name.upper()}_URL", None)
            else:
                os.environ[f"AIBT_{name.upper()}_URL"] = value


async def over_http(credential: str, calls: int) -> PathFigures:
    """The production path: the servers over streamable HTTP on loopback."""
    servers = await start_tool_servers(SERVERS, host="127.0.0.1", ports=dict.fromkeys(SERVERS, 0))
    try:
        with _clients_reach(servers.urls):
            through_run_tools = await _through_run_tools(credential, calls)
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(httpx.AsyncClient(headers={HEADER: credential}))
            sessions = {}
            for name, url in servers.urls.items():
                read, write, _ = await stack.enter_async_context(streamable_http_client(url, http_client=http))
                sessions[name] = await stack.enter_async_context(ClientSession(read, write))
                await sessions[name].initialize()
            bare = await _through_sessions(sessions, calls)
    finally:
        await servers.stop()
    return PathFigures("streamable HTTP", through_run_tools, bare)


async def in_memory(credential: str, calls: int) -> PathFigures:
    """The embedded path: the servers in this process over the in-memory transport."""
    servers = start_embedded_tool_servers()
    try:
        through_run_tools = await _through_run_tools(credential, calls)
        async with AsyncExitStack() as stack:
            sessions = {
                name: await stack.enter_async_context(connect(servers.servers[name], {HEADER: credential}))
                for name in SERVERS
            }
            bare = await _through_sessions(sessions, calls)
    finally:
        await servers.stop()
    return PathFigures("in-memory", through_run_tools, bare)


@asynccontextmanager
async def quoting_run(settings) -> AsyncIterator[str]:
    """The test bars and a running daily run at bar TODAY; yields its credential (needs Tortoise up)."""
    async with px.test_bars():
        run = await create_running_run(
            settings, clock_at=px.session_open(px.trading_days()[TODAY]), allowed_tickers=[px.SYMBOL]
        )
        yield run.credential


def report(figures: PathFigures) -> str:
    lines = []
    for tool, latency in figures.run_tools.items():
        bare = figures.bare_sdk[tool]
        lines.append(
            f"{figures.transport:>15} {tool:<12} run tools {latency.median_ms:6.2f} ms (cpu {latency.cpu_ms:5.2f}), "
            f"bare SDK session {bare.median_ms:6.2f} ms (cpu {bare.cpu_ms:5.2f}), "
            f"ratio {figures.ratio(tool):4.2f}x over {latency.calls} calls"
        )
    return "\n".join(lines)
