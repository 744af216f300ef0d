"""kill -9 of a worker in the middle of a daily run: another worker resumes it at its first unfinished
day, and the result equals an uninterrupted run's, with no duplicate rows and no gap in event seqs."""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections import Counter

import httpx
import pytest
import pytest_asyncio

from db_models.price_seed import seed_shipped_prices
from db_models.runs import ReasoningLog, Run
from tests.conftest import PASSWORD, SIGNUP, unique_email
from tests.support.databases import backend
from tests.support.graphql_client import GraphQLClient
from tests.support.price_state import restored_market_data
from tests.support.run_helpers import START_DAILY, follow_run
from tests.support.topology import production_topology

pytestmark = pytest.mark.skipif(
    backend() != "postgres", reason="Killing workers needs the multi-process topology, run in the PostgreSQL pass."
)

START, END = dt.date(2010, 3, 1), dt.date(2010, 3, 31)
RESULT = """query($id: ID!) { run(id: $id) { status error totalTrades
  positions(first: 100) { edges { node { date action symbol amount price cash holdings } } }
  logs(first: 50) { edges { node { date } } } equityCurve { date value cash }
  performance { totalReturn maxDrawdown sharpeRatio tradingDays totalTrades } } }"""


@pytest_asyncio.fixture
async def shipped_prices(server_url):
    async with restored_market_data():
        await seed_shipped_prices()
        yield


def comparable(run: dict) -> dict:
    positions = Counter(
        (
            p["node"]["date"],
            p["node"]["action"],
            p["node"]["symbol"],
            p["node"]["amount"],
            p["node"]["price"],
            p["node"]["cash"],
        )
        for p in run["positions"]["edges"]
    )
    return {
        "status": run["status"],
        "positions": positions,
        "curve": run["equityCurve"],
        "log_dates": [e["node"]["date"] for e in run["logs"]["edges"]],
        "performance": run["performance"],
        "totalTrades": run["totalTrades"],
    }


async def test_a_killed_worker_s_run_resumes_elsewhere_and_ends_as_if_uninterrupted(
    settings, tmp_path, shipped_prices, remote_llm
):
    remote_llm.delay_seconds = 0.1
    async with production_topology(settings, tmp_path, AIBT_RUN_STALE_SECONDS="3") as topology:
        async with httpx.AsyncClient(base_url=topology.api_url, timeout=30) as http:
            api = GraphQLClient(http)
            token = (await api.data(SIGNUP, {"email": unique_email("crash"), "password": PASSWORD}))["signup"]["token"]
            model = (
                await api.data(
                    "mutation($i: CreateModelInput!) { createModel(input: $i) { id } }",
                    {"i": {"name": "Crash", "allowedTickers": ["AAPL"], "aiModel": "openai/gpt-5"}},
                    token=token,
                )
            )["createModel"]["id"]
            dates = {"startDate": START.isoformat(), "endDate": END.isoformat()}
            run = (await api.data(START_DAILY, {"model": model, "input": dates}, token=token))["startDailyRun"]
            # Let it finish a few days, then kill the worker process that holds it, without warning.
            await follow_run(topology.ws_url, token, run["id"], limit=12)
            holder = await Run.filter(status="RUNNING").order_by("-id").first()
            pk, worker_pid = holder.id, int(holder.worker_id.split(":")[1])
            os.kill(worker_pid, signal.SIGKILL)
            topology.stop("worker", kill=True)  # and its dramatiq supervisor
            done_before_kill = await ReasoningLog.filter(run_id=pk).count()
            assert 0 < done_before_kill < 23  # March 2010 has 23 trading days
            topology.start("worker", "worker", "--threads", "8")
            events, error = await follow_run(topology.ws_url, token, run["id"], after_seq=0, timeout=120)
            interrupted = (await api.data(RESULT, {"id": run["id"]}, token=token))["run"]
            second = (await api.data(START_DAILY, {"model": model, "input": dates}, token=token))["startDailyRun"]
            await follow_run(topology.ws_url, token, second["id"], timeout=120)
            uninterrupted = (await api.data(RESULT, {"id": second["id"]}, token=token))["run"]

    assert error is None and events[-1]["kind"] == "COMPLETED", interrupted["error"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert any("Resumed (attempt 2)" in (e["message"] or "") for e in events)
    assert (await Run.get(id=pk)).attempts == 2
    assert comparable(interrupted) == comparable(uninterrupted)
    log_dates = comparable(interrupted)["log_dates"]
    assert len(log_dates) == len(set(log_dates)) == len(interrupted["equityCurve"]) == 23  # one log a day
