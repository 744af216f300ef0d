"""The run-overhead benchmark (tests/benchmarks/test_run_overhead.py) in CI size: 5 trading days × 2 tickers,
through the same measuring code, checking the run's result (and its agreement with the reference) but no time."""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.support.run_overhead import benchmark_market, check_overhead, measure_run_overhead


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def market(server_url):
    async with benchmark_market(ticker_count=2, trading_days=5) as market:
        yield market


@pytest.mark.parametrize("ai_model", ["local/momentum", "local/buy-and-hold"])
async def test_the_run_overhead_benchmark_measures_a_completed_run(api, ws_url, user, market, ai_model):
    measured = await measure_run_overhead(api, ws_url, user.token, market, ai_model)
    check_overhead(measured)
    assert measured.days == 5 and len(measured.reference) > 0
    report = measured.report()
    assert "ms per trading day" in report and "platform/reference" in report
