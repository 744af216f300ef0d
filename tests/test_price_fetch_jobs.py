"""fetchPrices for admins: a job on a worker, its progress stream, its results; resumed when its worker dies.
The Alpha Vantage key stays on the server: no response, event or log line carries it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio

from db_models.price_fetches import PriceFetchJob
from graphql_api.ids import to_global_id
from tests.conftest import PASSWORD
from tests.support.alphavantage import API_KEY, StandIn, running_alphavantage
from tests.support.fetch_jobs import (
    ADMIN,
    FETCH_PRICES,
    JOB,
    JOBS,
    USER,
    embedded_aibt,
    embedded_env,
    follow_fetch,
    signed_up,
)
from tests.support.graphql_client import GraphQLClient

RANGE = {"from": "2025-06-10", "to": "2025-10-29"}
LOGIN = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }"
FETCHED = ["SYMBOL_STARTED", "PROGRESS", "PROGRESS", "PROGRESS", "SYMBOL_FINISHED"]


@pytest_asyncio.fixture(scope="module")
async def alphavantage() -> AsyncIterator[StandIn]:
    async with running_alphavantage() as stand_in:
        yield stand_in


@pytest_asyncio.fixture
async def server_env(alphavantage: StandIn, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    async with embedded_env(alphavantage, tmp_path) as env:
        yield env


class Recorder:
    """Every response body the client receives, to look for the key in."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        self.bodies.append(response.text)


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events]


# ------------------------------------------------------------------------------------------ the session app


async def test_non_admins_are_forbidden_every_price_fetch_operation(api, user, ws_url):
    job_id = to_global_id("PriceFetchJob", 1)
    for document, variables in (
        (FETCH_PRICES, {"input": {"symbols": ["AAPL"]}}),
        (JOB, {"id": job_id}),
        (JOBS, {}),
    ):
        assert await api.error_code(document, variables, token=user.token) == "FORBIDDEN"
        assert await api.error_code(document, variables) == "UNAUTHENTICATED"
    events, error, _ = await follow_fetch(ws_url, user.token, job_id, after_seq=0)
    assert events == [] and error["extensions"]["code"] == "FORBIDDEN"


async def test_bad_fetch_inputs_are_refused_with_the_field_named(api, admin):
    refusals = [
        ({"symbols": ["AA PL"]}, "symbols", "is not a well-formed ticker symbol"),
        ({"symbols": []}, "symbols", "Name at least one symbol, or a universe."),
        ({"universe": "dow30"}, "universe", "unknown universe 'dow30'; known: nasdaq100"),
        ({"symbols": ["AAPL"], "from": "2025-10-02", "to": "2025-10-01"}, "from", "from must not be after to."),
    ]
    for data, field, words in refusals:
        error = await api.error(FETCH_PRICES, {"input": data}, token=admin.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == field
        assert words in error["message"]
    assert await PriceFetchJob.all().count() == 0


async def test_a_server_without_a_key_refuses_to_queue_a_fetch_and_says_which_setting(api, admin):
    error = await api.error(FETCH_PRICES, {"input": {"universe": "nasdaq100"}}, token=admin.token)

    assert error["extensions"]["code"] == "UNAVAILABLE" and "ALPHAVANTAGE_API_KEY" in error["message"]
    assert await PriceFetchJob.all().count() == 0


async def test_an_unknown_job_is_not_found(api, admin):
    error = await api.error(JOB, {"id": to_global_id("PriceFetchJob", 999_999)}, token=admin.token)
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await api.error(JOB, {"id": to_global_id("Run", 1)}, token=admin.token)
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_a_document_with_several_root_fields_answers_every_one(api, admin):
    row = await PriceFetchJob.create(symbols=["AAPL", "MSFT"], progress_total=2)
    job_id = to_global_id("PriceFetchJob", row.id)
    try:
        data = await api.data(
            "query($id: ID!) { me { id } priceFetchJobs { totalCount edges { node { id } } } "
            "a: priceFetchJob(id: $id) { symbols } b: priceFetchJob(id: $id) { status progress { total } } "
            "systemStats { users } }",
            {"id": job_id},
            token=admin.token,
        )
        assert data["me"]["id"] == admin.id and data["systemStats"]["users"] >= 1
        assert data["priceFetchJobs"]["totalCount"] == 1 and data["priceFetchJobs"]["edges"][0]["node"]["id"] == job_id
        assert data["a"]["symbols"] == ["AAPL", "MSFT"] and data["b"] == {"status": "QUEUED", "progress": {"total": 2}}
    finally:
        await row.delete()


# ------------------------------------------------------------------------------------------ embedded serve


async def test_an_admins_fetch_runs_end_to_end_and_streams_its_progress(alphavantage, server_env, tmp_path):
    recorder = Recorder()
    async with embedded_aibt(server_env, tmp_path) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=30, event_hooks={"response": [recorder]}) as http:
            api = GraphQLClient(http)
            token = await signed_up(api, ADMIN)
            clerk = await signed_up(api, USER)
            job = (
                await api.data(FETCH_PRICES, {"input": {"symbols": ["aapl", "ZZZZ", "NVDA"], **RANGE}}, token=token)
            )["fetchPrices"]
            assert (job["status"], job["symbols"], job["interval"], job["progress"]["total"]) == (
                "QUEUED",
                ["AAPL", "ZZZZ", "NVDA"],
                "DAY",
                3,
            )
            events, error, raw = await follow_fetch(served.ws_url, token, job["id"], after_seq=0)
            done = (await api.data(JOB, {"id": job["id"]}, token=token))["priceFetchJob"]
            listed = (await api.data(JOBS, token=token))["priceFetchJobs"]
            replayed, _, _ = await follow_fetch(served.ws_url, token, job["id"], after_seq=5)
            bars = await api.data('{ stockPrices(symbol: "AAPL") { timestamp close } }')
            refused = await api.error(JOB, {"id": job["id"]}, token=clerk)

    assert error is None
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert kinds(events) == [
        "QUEUED", "STARTED", *FETCHED, "SYMBOL_STARTED", "SYMBOL_FINISHED", *FETCHED, "COMPLETED",
    ]  # fmt: skip
    finished = [e for e in events if e["kind"] == "SYMBOL_FINISHED"]
    assert [(e["symbol"], e["result"]["status"], e["progress"]["current"]) for e in finished] == [
        ("AAPL", "FETCHED", 1),
        ("ZZZZ", "FAILED", 2),
        ("NVDA", "FETCHED", 3),
    ]
    assert finished[0]["result"] == {
        "symbol": "AAPL",
        "status": "FETCHED",
        "barsAdded": 99,
        "firstDate": "2025-06-10",
        "lastDate": "2025-10-29",
        "actionsAdded": 5,
        "requests": 3,
        "message": None,
    }
    assert finished[1]["result"]["message"].startswith("Invalid API call.")
    assert events[3]["progress"]["message"] == "AAPL: daily bars (full history) (1/3)"
    assert events[-1]["status"] == "COMPLETED" and "Failed: ZZZZ." in events[-1]["message"]
    assert replayed == events[5:]

    assert (done["status"], done["error"], done["attempts"], done["progress"]["current"]) == ("COMPLETED", None, 1, 3)
    assert [(r["symbol"], r["status"], r["barsAdded"]) for r in done["results"]] == [
        ("AAPL", "FETCHED", 99),
        ("ZZZZ", "FAILED", 0),
        ("NVDA", "FETCHED", 99),
    ]
    assert done["requestedBy"] == {"email": ADMIN} and done["startedAt"] and done["endedAt"]
    assert listed["edges"][0]["node"] == {"id": job["id"], "status": "COMPLETED"}
    assert len(bars["stockPrices"]) == 99
    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert API_KEY not in "".join(recorder.bodies + raw)
    log = served.log.read_text()
    assert "HTTP Request: GET" in log and "apikey=[redacted]" in log and API_KEY not in log


async def test_of_fetches_started_at_the_same_moment_one_is_queued_and_the_others_conflict(
    alphavantage, server_env, tmp_path
):
    async with embedded_aibt(server_env, tmp_path) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
            api = GraphQLClient(http)
            token = await signed_up(api, ADMIN)
            variables = {"input": {"symbols": ["AAPL"], **RANGE}}
            bodies = await asyncio.gather(*(api.execute(FETCH_PRICES, variables, token=token) for _ in range(8)))
            started = [b["data"]["fetchPrices"]["id"] for b in bodies if not b.get("errors")]
            refused = [b["errors"][0]["extensions"]["code"] for b in bodies if b.get("errors")]
            assert len(started) == 1 and refused == ["CONFLICT"] * 7, bodies
            events, error, _ = await follow_fetch(served.ws_url, token, started[0], after_seq=0)
            assert error is None and events[-1]["kind"] == "COMPLETED"
            listed = (await api.data(JOBS, token=token))["priceFetchJobs"]
            assert listed["totalCount"] == 1
            # The finished job frees the slot: the next fetch is queued.
            again = (await api.data(FETCH_PRICES, variables, token=token))["fetchPrices"]
            assert again["status"] == "QUEUED"
            events, error, _ = await follow_fetch(served.ws_url, token, again["id"], after_seq=0)
            assert error is None and events[-1]["kind"] == "COMPLETED"


async def test_the_daily_limit_fails_the_job_with_the_providers_words_but_not_the_key(
    alphavantage, server_env, tmp_path
):
    alphavantage.daily_quota = 4
    recorder = Recorder()
    async with embedded_aibt(server_env, tmp_path) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=30, event_hooks={"response": [recorder]}) as http:
            api = GraphQLClient(http)
            token = await signed_up(api, ADMIN)
            job = await api.data(FETCH_PRICES, {"input": {"symbols": ["AAPL", "MSFT", "NVDA"], **RANGE}}, token=token)
            job_id = job["fetchPrices"]["id"]
            events, _, raw = await follow_fetch(served.ws_url, token, job_id, after_seq=0)
            failed = (await api.data(JOB, {"id": job_id}, token=token))["priceFetchJob"]

    assert failed["status"] == "FAILED" and events[-1]["kind"] == "FAILED"
    assert failed["error"].startswith("Alpha Vantage's daily request limit is reached: We have detected your API key")
    assert "[redacted]" in failed["error"] and events[-1]["message"] == failed["error"]
    assert [(r["symbol"], r["status"]) for r in failed["results"]] == [
        ("AAPL", "FETCHED"),
        ("MSFT", "NOT_FETCHED"),
        ("NVDA", "NOT_FETCHED"),
    ]
    assert API_KEY not in "".join(recorder.bodies + raw) and API_KEY not in served.log.read_text()


async def test_a_job_whose_server_died_is_resumed_without_asking_again_for_finished_symbols(
    alphavantage, server_env, tmp_path
):
    release = alphavantage.hold("MSFT")
    async with embedded_aibt(server_env, tmp_path, name="first") as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
            api = GraphQLClient(http)
            token = await signed_up(api, ADMIN)
            job_id = (
                await api.data(FETCH_PRICES, {"input": {"symbols": ["AAPL", "MSFT", "NVDA"], **RANGE}}, token=token)
            )["fetchPrices"]["id"]
            await asyncio.wait_for(alphavantage.arrived["MSFT"].wait(), timeout=60)
            busy = await api.error(FETCH_PRICES, {"input": {"symbols": ["AMZN"]}}, token=token)
            served.process.kill()  # the server dies while MSFT is being fetched
            served.process.wait(timeout=30)
    release.set()
    asked_before = {s: len(alphavantage.asked(symbol=s)) for s in ("AAPL", "MSFT", "NVDA")}

    async with embedded_aibt(server_env, tmp_path, name="second") as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
            api = GraphQLClient(http)
            token = (await api.data(LOGIN, {"email": ADMIN, "password": PASSWORD}))["login"]["token"]
            events, error, _ = await follow_fetch(served.ws_url, token, job_id, after_seq=0)
            done = (await api.data(JOB, {"id": job_id}, token=token))["priceFetchJob"]

    assert busy["extensions"]["code"] == "CONFLICT"
    assert asked_before == {"AAPL": 3, "MSFT": 1, "NVDA": 0}
    assert len(alphavantage.asked(symbol="AAPL")) == 3  # not asked again
    assert len(alphavantage.asked(symbol="MSFT")) == 4 and len(alphavantage.asked(symbol="NVDA")) == 3
    assert error is None and events[0]["kind"] == "STARTED"
    assert events[0]["message"] == "Resumed (attempt 2): 1 of 3 symbols were done before."
    assert kinds(events) == ["STARTED", *FETCHED, *FETCHED, "COMPLETED"]
    assert (done["status"], done["attempts"]) == ("COMPLETED", 2)
    assert [(r["symbol"], r["status"], r["barsAdded"]) for r in done["results"]] == [
        ("AAPL", "FETCHED", 99),
        ("MSFT", "FETCHED", 99),
        ("NVDA", "FETCHED", 99),
    ]


async def test_an_intraday_fetch_job_asks_month_by_month(alphavantage, server_env, tmp_path):
    async with embedded_aibt(server_env, tmp_path) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
            api = GraphQLClient(http)
            token = await signed_up(api, ADMIN)
            data = {
                "symbols": ["GOOGL"],
                "interval": "HOUR",
                "from": "2025-10-01",
                "to": "2025-11-10",
                "actions": False,
            }
            job_id = (await api.data(FETCH_PRICES, {"input": data}, token=token))["fetchPrices"]["id"]
            events, _, _ = await follow_fetch(served.ws_url, token, job_id, after_seq=0)

    assert kinds(events) == [
        "QUEUED",
        "STARTED",
        "SYMBOL_STARTED",
        "PROGRESS",
        "PROGRESS",
        "SYMBOL_FINISHED",
        "COMPLETED",
    ]
    assert [e["progress"]["message"] for e in events if e["kind"] == "PROGRESS"] == [
        "GOOGL: 60min bars 2025-10 (1/2)",
        "GOOGL: 60min bars 2025-11 (2/2)",
    ]
    assert events[-2]["result"]["barsAdded"] == 173
    assert [r["month"] for r in alphavantage.asked(function="TIME_SERIES_INTRADAY")] == ["2025-10", "2025-11"]
