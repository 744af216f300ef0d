"""Load on one API process: websocket subscribers to one run plus a steady rate of GraphQL requests.

The default run holds half the issue's load (250 subscribers, 50 requests a second) for 15 s, so that it
passes on a shared two-core machine in well under a minute and a half; the full size (500 subscribers,
100 a second, 60 s) is tests/benchmarks/test_load_60s.py. Both use tests/support/load.py, which says why
the API is its own process.
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from db_models.price_seed import seed_shipped_prices
from tests.support.databases import backend
from tests.support.load import run_load
from tests.support.price_state import restored_price_bars

pytestmark = pytest.mark.skipif(
    backend() != "postgres",
    reason="The load runs against the multi-process topology (API, worker, tool servers), in the suite's "
           "PostgreSQL pass.")


@pytest_asyncio.fixture
async def shipped_prices(server_url):
    async with restored_price_bars():
        await seed_shipped_prices()
        yield


async def test_250_subscribers_and_50_requests_a_second_lose_nothing(settings, tmp_path, shipped_prices, remote_llm):
    # About 3 s a trading day (three model calls of 1 s): the run's six days span the load.
    result = await run_load(settings, tmp_path, remote_llm, subscribers=250, rps=50, seconds=15,
                            tickers=["AAPL"], start="2010-03-01", end="2010-03-08", llm_delay=1.0)
    print("\nload:", result.summary())
    assert result.request_errors == [], result.request_errors[:5]
    assert result.achieved_rps >= 45
    assert result.subscriber_failures == [], result.subscriber_failures[:5]
    assert len(result.events_per_subscriber) == 250
    assert result.run_status == "COMPLETED"
    assert result.kinds[0] == "QUEUED" and result.kinds[-1] == "COMPLETED" and "TRADE" in result.kinds
