"""Latency of one MCP tool call over a kept session, as a run makes it, beside the bare MCP SDK session.

Both transports: streamable HTTP (production) and in-memory (embedded). See tests/support/tool_call_latency.py.

    .venv/bin/pytest tests/benchmarks/test_tool_call_latency.py -s -q    (AIBT_TOOL_CALLS=N for another count)
"""

from __future__ import annotations

import os

from tests.support import tool_call_latency as latency

CALLS = int(os.environ.get("AIBT_TOOL_CALLS", "300"))


async def test_tool_call_latency_over_http_and_in_memory(settings, server_url):
    async with latency.quoting_run(settings) as credential:
        http = await latency.over_http(credential, CALLS)
        memory = await latency.in_memory(credential, CALLS)
    print()
    print(latency.report(http))
    print(latency.report(memory))
    for figures in (http, memory):
        assert set(figures.run_tools) == set(figures.bare_sdk) == {"math.add", "price.quote"}
