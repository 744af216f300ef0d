"""Latency of one MCP tool call over HTTP: one persistent session vs a new session per call."""

from __future__ import annotations

import statistics
import time

from tests.support.tool_servers import mcp_client, running_tool_servers, session_tools

CALLS = 50


async def _median_ms(tool, calls: int = CALLS) -> float:
    await tool.ainvoke({"a": 1, "b": 2})  # warm up
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await tool.ainvoke({"a": 1, "b": 2})
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def test_a_persistent_session_makes_tool_calls_much_cheaper():
    async with running_tool_servers("math") as urls:
        client = mcp_client(urls, credential="any")
        per_call_tools = {tool.name: tool for tool in await client.get_tools()}
        per_call = await _median_ms(per_call_tools["add"])
        async with session_tools(client, "math") as tools:
            persistent = await _median_ms(tools["add"])
    print(
        f"\nmath.add median over {CALLS} calls: persistent session {persistent:.1f} ms, "
        f"new session per call {per_call:.1f} ms"
    )
    assert persistent < per_call
