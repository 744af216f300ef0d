"""Load on one API process, at the issue's size: 500 websocket subscribers to one run plus 100 GraphQL
requests a second for 60 s, with zero errors and every event to every subscriber, in order.

Uses tests/support/load.py, which says why the API is its own process and how requests are offered
(open loop, latency counted from when a request fell due). The figures it prints (latency by slice of
the window, the API's CPU) are the load's benchmark.
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from db_models.price_seed import seed_shipped_prices
from tests.support.databases import backend
from tests.support.load import run_load
from tests.support.price_state import restored_market_data

pytestmark = pytest.mark.skipif(
    backend() != "postgres",
    reason="The load runs against the multi-process topology (API, worker, tool servers), in the suite's "
    "PostgreSQL pass.",
)


@pytest_asyncio.fixture
async def shipped_prices(server_url):
    async with restored_market_data():
        await seed_shipped_prices()
        yield


@pytest.mark.timeout(900)
async def test_500_subscribers_and_100_requests_a_second_for_60_s_lose_nothing(
    settings, tmp_path, shipped_prices, remote_llm
):
    # About 3 s a trading day (three model calls of 1 s): the month's 22 days span the minute of load.
    result = await run_load(
        settings,
        tmp_path,
        remote_llm,
        subscribers=500,
        rps=100,
        seconds=60,
        tickers=["AAPL"],
        start="2010-03-01",
        end="2010-03-31",
        llm_delay=1.0,
    )
    print("\nload (60 s):", result.summary())
    assert result.request_errors == [], result.request_errors[:5]
    assert result.achieved_rps >= 95
    assert result.subscriber_failures == [], result.subscriber_failures[:5]
    assert len(result.events_per_subscriber) == 500
    assert result.run_status == "COMPLETED"
    assert result.kinds[0] == "QUEUED" and result.kinds[-1] == "COMPLETED" and "TRADE" in result.kinds
