"""cancelPriceFetch: a queued job ends at once, a running one at its next call to the provider; the symbols written
stay, the one in progress writes nothing, the job's stream ends with CANCELLED and the next fetch may start."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from tortoise.exceptions import IntegrityError

from db_models.accounts import User
from db_models.price_fetches import FetchJobStatus, PriceFetchJob
from graphql_api.ids import to_global_id
from tasks.events import InProcessEventBus
from tasks.price_fetch_jobs import CANCELLED_UNHELD, reap_fetch_jobs
from tests.support.alphavantage import StandIn, running_alphavantage
from tests.support.fetch_jobs import (
    ADMIN,
    CANCEL,
    FETCH_PRICES,
    JOB,
    embedded_aibt,
    embedded_env,
    follow_fetch,
    signed_up,
)
from tests.support.graphql_client import GraphQLClient

RANGE = {"from": "2025-06-10", "to": "2025-10-29"}
FETCHED = ["SYMBOL_STARTED", "PROGRESS", "PROGRESS", "PROGRESS", "SYMBOL_FINISHED"]


@pytest_asyncio.fixture(scope="module")
async def alphavantage() -> AsyncIterator[StandIn]:
    async with running_alphavantage() as stand_in:
        yield stand_in


@pytest_asyncio.fixture
async def server_env(alphavantage: StandIn, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    async with embedded_env(alphavantage, tmp_path) as env:
        yield env


@pytest_asyncio.fixture
async def jobs() -> AsyncIterator[list[PriceFetchJob]]:
    """Rows a test makes in the session database, removed afterwards (the active slot with them)."""
    made: list[PriceFetchJob] = []
    yield made
    for job in made:
        await PriceFetchJob.filter(id=job.id).delete()


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events]


# ------------------------------------------------------------------------------------------ the session app


async def test_only_admins_cancel_and_an_unknown_job_is_not_found(api, user, admin, jobs):
    jobs.append(await PriceFetchJob.create(symbols=["AAPL"], progress_total=1))
    for job_id in (to_global_id("PriceFetchJob", jobs[0].id), to_global_id("PriceFetchJob", 999_999)):
        assert await api.error_code(CANCEL, {"id": job_id}, token=user.token) == "FORBIDDEN"
        assert await api.error_code(CANCEL, {"id": job_id}) == "UNAUTHENTICATED"
    for job_id in (to_global_id("PriceFetchJob", 999_999), to_global_id("Run", jobs[0].id), "garbage"):
        assert await api.error_code(CANCEL, {"id": job_id}, token=admin.token) == "NOT_FOUND"
    await jobs[0].refresh_from_db()
    assert (jobs[0].status, jobs[0].cancel_requested) == (FetchJobStatus.QUEUED, False)


async def test_a_queued_job_is_cancelled_at_once_with_a_final_event_and_frees_the_slot(api, ws_url, admin, jobs):
    requester = await User.get(email=admin.email)
    queued = await PriceFetchJob.create(requested_by=requester, symbols=["AAPL"], progress_total=1, active_slot=True)
    jobs.append(queued)
    job_id = to_global_id("PriceFetchJob", queued.id)
    with pytest.raises(IntegrityError):  # one active job at a time
        await PriceFetchJob.create(symbols=["MSFT"], progress_total=1, active_slot=True)

    cancelled = (await api.data(CANCEL, {"id": job_id}, token=admin.token))["cancelPriceFetch"]
    events, error, _ = await follow_fetch(ws_url, admin.token, job_id, after_seq=0, timeout=10)
    shown = (await api.data(JOB, {"id": job_id}, token=admin.token))["priceFetchJob"]
    again = await api.error(CANCEL, {"id": job_id}, token=admin.token)

    assert cancelled["status"] == "CANCELLED" and cancelled["cancelRequested"] and cancelled["endedAt"]
    assert error is None and kinds(events) == ["CANCELLED"]
    assert (events[0]["status"], events[0]["message"]) == ("CANCELLED", "Cancelled before it started.")
    assert (shown["status"], shown["results"], shown["startedAt"]) == ("CANCELLED", [], None)
    assert again["extensions"]["code"] == "CONFLICT" and again["message"] == "This price fetch is already cancelled."
    jobs.append(await PriceFetchJob.create(symbols=["MSFT"], progress_total=1, active_slot=True))  # the slot is free


class NoWorkers:
    """A dispatcher with no worker behind it: the reaper hands it nothing it should not."""

    def __init__(self) -> None:
        self.handed: list[int] = []

    async def enqueue_fetch_job(self, job_id: int) -> None:
        self.handed.append(job_id)

    async def pending_fetch_job_ids(self) -> set[int]:
        return set()


async def test_a_job_no_worker_holds_is_cancelled_at_once_and_a_lost_workers_job_by_the_reaper(
    api, admin, settings, jobs
):
    now = dt.datetime.now(dt.UTC)
    released = await PriceFetchJob.create(  # its worker was lost and the reaper let go of it
        symbols=["AAPL", "MSFT"], progress_total=2, status=FetchJobStatus.RUNNING, started_at=now
    )
    held = await PriceFetchJob.create(
        symbols=["NVDA"], progress_total=1, status=FetchJobStatus.RUNNING, started_at=now,
        worker_id="gone:1", heartbeat_at=now, attempts=1, active_slot=True,
    )  # fmt: skip
    jobs.extend([released, held])

    answer = await api.data(CANCEL, {"id": to_global_id("PriceFetchJob", released.id)}, token=admin.token)
    assert answer["cancelPriceFetch"]["status"] == "CANCELLED"
    answer = await api.data(CANCEL, {"id": to_global_id("PriceFetchJob", held.id)}, token=admin.token)
    assert answer["cancelPriceFetch"]["status"] == "RUNNING" and answer["cancelPriceFetch"]["cancelRequested"]

    # Its worker never beats again: once it is stale the reaper ends it rather than hand it to another worker.
    await PriceFetchJob.filter(id=held.id).update(heartbeat_at=now - dt.timedelta(hours=1))
    dispatcher, bus = NoWorkers(), InProcessEventBus()
    try:
        await reap_fetch_jobs(settings, bus, dispatcher)
    finally:
        await bus.close()
    await held.refresh_from_db()
    assert (held.status, held.error, held.active_slot, held.worker_id) == (
        FetchJobStatus.CANCELLED,
        CANCELLED_UNHELD,
        None,
        None,
    )
    assert dispatcher.handed == []


# ------------------------------------------------------------------------------------------ embedded serve


async def test_a_running_fetch_stops_at_its_next_call_keeps_what_it_wrote_and_frees_the_slot(
    alphavantage, server_env, tmp_path
):
    release = alphavantage.hold("MSFT")
    async with embedded_aibt(server_env, tmp_path) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
            api = GraphQLClient(http)
            token = await signed_up(api, ADMIN)
            symbols = {"symbols": ["AAPL", "MSFT", "NVDA"], **RANGE}
            job_id = (await api.data(FETCH_PRICES, {"input": symbols}, token=token))["fetchPrices"]["id"]
            await asyncio.wait_for(alphavantage.arrived["MSFT"].wait(), timeout=60)

            asked = (await api.data(CANCEL, {"id": job_id}, token=token))["cancelPriceFetch"]
            busy = await api.error(FETCH_PRICES, {"input": {"symbols": ["AMZN"], **RANGE}}, token=token)
            release.set()  # the call in hand is answered; the worker stops before asking anything else
            events, error, _ = await follow_fetch(served.ws_url, token, job_id, after_seq=0)
            done = (await api.data(JOB, {"id": job_id}, token=token))["priceFetchJob"]
            prices = {
                symbol: len((await api.data(f'{{ stockPrices(symbol: "{symbol}") {{ close }} }}'))["stockPrices"])
                for symbol in ("AAPL", "MSFT", "NVDA")
            }
            next_job = await api.data(FETCH_PRICES, {"input": {"symbols": ["AMZN"], **RANGE}}, token=token)
            next_events, _, _ = await follow_fetch(served.ws_url, token, next_job["fetchPrices"]["id"], after_seq=0)

    assert (asked["status"], asked["cancelRequested"], asked["endedAt"]) == ("RUNNING", True, None)
    assert busy["extensions"]["code"] == "CONFLICT"  # the slot is held until the worker has stopped
    assert error is None
    assert kinds(events) == [
        "QUEUED", "STARTED", *FETCHED, "SYMBOL_STARTED", "PROGRESS", "SYMBOL_FINISHED", "SYMBOL_FINISHED", "CANCELLED",
    ]  # fmt: skip
    assert (events[-1]["status"], events[-1]["message"]) == ("CANCELLED", "Cancelled by an admin.")
    assert (done["status"], done["error"], done["cancelRequested"]) == ("CANCELLED", "Cancelled by an admin.", True)
    assert done["endedAt"] and done["progress"]["current"] == 3
    assert [(r["symbol"], r["status"], r["barsAdded"], r["message"]) for r in done["results"]] == [
        ("AAPL", "FETCHED", 99, None),
        ("MSFT", "NOT_FETCHED", 0, "the fetch stopped during it"),
        ("NVDA", "NOT_FETCHED", 0, "the fetch stopped before it"),
    ]
    assert prices == {"AAPL": 99, "MSFT": 0, "NVDA": 0}  # the answered MSFT call was not written
    assert len(alphavantage.asked(symbol="MSFT")) == 1 and alphavantage.asked(symbol="NVDA") == []
    assert kinds(next_events)[-1] == "COMPLETED"
