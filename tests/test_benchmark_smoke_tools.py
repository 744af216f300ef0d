"""A few calls of the tool-call latency benchmark on both transports, so its measuring code cannot rot.

No timing is asserted; every answer is checked inside the measurement (tests/support/tool_call_latency.py).
"""

from __future__ import annotations

from tests.support import tool_call_latency as latency


async def test_the_tool_call_benchmark_measures_right_answers_on_both_transports(settings, server_url):
    async with latency.quoting_run(settings) as credential:
        http = await latency.over_http(credential, calls=3)
        memory = await latency.in_memory(credential, calls=3)
    for figures in (http, memory):
        for measured in (figures.run_tools, figures.bare_sdk):
            assert set(measured) == {"math.add", "price.quote"}
            assert all(m.calls == 3 and m.median_ms > 0 for m in measured.values())
    assert "ratio" in latency.report(http) and "in-memory" in latency.report(memory)
