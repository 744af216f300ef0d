"""Platform overhead per trading day: a local model over 252 trading days × 10 tickers, end to end.

The run is started over GraphQL against the in-process test API (embedded dispatcher) and followed over a
websocket until COMPLETED; every tool call goes over MCP streamable HTTP to the tool servers, every
step writes its rows and publishes its events. A local model answers in microseconds, so the time is the
platform's own; the figure shows the tool calls' share apart and the ratio to the same strategy computed
directly over the same bars (tests/support/run_overhead.py). Run it on each database:

    .venv/bin/pytest tests/benchmarks/test_run_overhead.py -s -q
    AIBT_TEST_DATABASE=postgres .venv/bin/pytest tests/benchmarks/test_run_overhead.py -s -q
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.support.run_overhead import benchmark_market, check_overhead, measure_run_overhead

TICKERS = 10
TRADING_DAYS = 252


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def market(server_url):
    async with benchmark_market(TICKERS, TRADING_DAYS) as market:
        yield market


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("ai_model", ["local/momentum", "local/buy-and-hold"])
async def test_platform_overhead_per_trading_day(api, ws_url, user, market, ai_model):
    measured = await measure_run_overhead(api, ws_url, user.token, market, ai_model)
    check_overhead(measured)
    print("\n" + measured.report())
