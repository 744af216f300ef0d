"""A price fetch job in the production topology: the API queues it on Redis, an `aibt worker` process fetches
from the Alpha Vantage stand-in, the API's websocket streams its events; a worker killed mid-job (kill -9)
has its job resumed by another worker, which asks nothing again for the symbols already written."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from db_models.accounts import Role, User
from db_models.price_fetches import PriceFetchCoverage, PriceFetchJob
from graphql_api.ids import parse_global_id
from tests.conftest import PASSWORD, SIGNUP, unique_email
from tests.support.alphavantage import API_KEY, StandIn, running_alphavantage
from tests.support.databases import backend
from tests.support.fetch_jobs import FETCH_PRICES, JOB, follow_fetch
from tests.support.graphql_client import GraphQLClient
from tests.support.price_state import restored_market_data
from tests.support.topology import production_topology

pytestmark = pytest.mark.skipif(
    backend() != "postgres",
    reason="The production topology (several processes writing at once) runs in the suite's PostgreSQL pass.",
)
FETCHED = ["SYMBOL_STARTED", "PROGRESS", "PROGRESS", "PROGRESS", "SYMBOL_FINISHED"]


@pytest_asyncio.fixture
async def alphavantage(server_url) -> AsyncIterator[StandIn]:
    async with running_alphavantage() as stand_in, restored_market_data():
        try:
            yield stand_in
        finally:
            await PriceFetchCoverage.all().delete()
            await PriceFetchJob.all().delete()


async def test_a_worker_runs_the_job_and_a_killed_workers_job_is_resumed_by_another(settings, tmp_path, alphavantage):
    release = alphavantage.hold("MSFT")
    extra = {
        "ALPHAVANTAGE_API_KEY": API_KEY,
        "AIBT_ALPHAVANTAGE_URL": alphavantage.url,
        "AIBT_ALPHAVANTAGE_CALLS_PER_MINUTE": "60000",
        "AIBT_ALPHAVANTAGE_THROTTLE_WAIT_SECONDS": "0.01",
        "AIBT_RUN_STALE_SECONDS": "3",
        # Workers log no line per HTTP request at INFO; at DEBUG they do, and the key must be redacted there.
        "AIBT_LOG_LEVEL": "DEBUG",
    }
    async with production_topology(settings, tmp_path, **extra) as topology:
        async with httpx.AsyncClient(base_url=topology.api_url, timeout=30) as http:
            api = GraphQLClient(http)
            email = unique_email("fetch-admin")
            token = (await api.data(SIGNUP, {"email": email, "password": PASSWORD}))["signup"]["token"]
            await User.filter(email=email).update(role=Role.ADMIN)
            data = {"symbols": ["AAPL", "MSFT", "NVDA"], "from": "2025-06-10", "to": "2025-10-29"}
            job_id = (await api.data(FETCH_PRICES, {"input": data}, token=token))["fetchPrices"]["id"]

            await asyncio.wait_for(alphavantage.arrived["MSFT"].wait(), timeout=60)
            holder = await PriceFetchJob.get(id=parse_global_id("PriceFetchJob", job_id, kind="job"))
            os.kill(int(holder.worker_id.split(":")[1]), signal.SIGKILL)  # the worker process holding the job
            topology.stop("worker", kill=True)  # and its dramatiq supervisor
            release.set()
            topology.start("worker-2", "worker", "--threads", "8")
            events, error, _ = await follow_fetch(topology.ws_url, token, job_id, after_seq=0, timeout=120)
            done = (await api.data(JOB, {"id": job_id}, token=token))["priceFetchJob"]
        worker_log = topology.log("worker") + topology.log("worker-2")

    assert error is None, error
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["kind"] for e in events] == [
        "QUEUED", "STARTED", *FETCHED, "SYMBOL_STARTED", "STARTED", *FETCHED, *FETCHED, "COMPLETED",
    ]  # fmt: skip
    assert events[8]["message"] == "Resumed (attempt 2): 1 of 3 symbols were done before."
    assert (done["status"], done["attempts"]) == ("COMPLETED", 2)
    assert [(r["symbol"], r["status"], r["barsAdded"]) for r in done["results"]] == [
        ("AAPL", "FETCHED", 99),
        ("MSFT", "FETCHED", 99),
        ("NVDA", "FETCHED", 99),
    ]
    assert len(alphavantage.asked(symbol="AAPL")) == 3  # written before the kill, not asked again
    assert len(alphavantage.asked(symbol="MSFT")) == 4  # the held call, then its three calls
    assert "lost its worker" in worker_log and API_KEY not in worker_log and "apikey=[redacted]" in worker_log
