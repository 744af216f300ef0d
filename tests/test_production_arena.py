"""An arena in the production topology: two worker processes taking its runs, events through Redis, followed
over a real websocket from the API process; one gap-free seq, and ENDED only after every run has ended."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
import pytest_asyncio

from db_models.market import PriceBar
from tests.conftest import PASSWORD, SIGNUP, Account, unique_email
from tests.support import price_fixtures as px
from tests.support.arena_helpers import DAYS, START_ARENA, WAVE, arena_input, create_model, follow_arena
from tests.support.databases import backend
from tests.support.graphql_client import GraphQLClient
from tests.support.run_helpers import follow_run
from tests.support.topology import production_topology
from tests.support.wave_market import wave_bars

pytestmark = pytest.mark.skipif(
    backend() != "postgres",
    reason="The production topology (several processes writing at once) runs in the suite's PostgreSQL pass.",
)
STANDINGS = """query($id: ID!) { arena(id: $id) { status endedAt
  runs { id strategySnapshot }
  standings { rank totalReturn excessReturn run { id } }
  benchmarks { performance { totalReturn } } } }"""
CURVE = "query($id: ID!) { run(id: $id) { equityCurve { value } } }"  # a run at a time: a curve is long


@pytest_asyncio.fixture
async def market(server_url):
    await px.insert_test_bars()
    await PriceBar.bulk_create(wave_bars(WAVE))
    try:
        yield
    finally:
        await px.delete_test_bars()
        await PriceBar.filter(symbol=WAVE, source="test").delete()


async def test_an_arena_on_two_worker_processes_streams_in_one_seq_through_redis_and_ends_after_every_run(
    settings, tmp_path, market
):
    async with production_topology(settings, tmp_path, worker_threads=2) as topology:
        topology.start("worker2", "worker", "--threads", "2")
        async with httpx.AsyncClient(base_url=topology.api_url, timeout=30) as http:
            api = GraphQLClient(http)
            email = unique_email("prod-arena")
            signup = (await api.data(SIGNUP, {"email": email, "password": PASSWORD}))["signup"]
            owner = Account(token=signup["token"], id=signup["user"]["id"], email=email)
            models = [
                await create_model(api, owner, "Holder", "local/buy-and-hold", (px.SYMBOL, WAVE)),
                await create_model(api, owner, "Momentum", "local/momentum", (px.SYMBOL, WAVE)),
                await create_model(api, owner, "Wave", "local/buy-and-hold", (WAVE,)),
            ]
            arena = (await api.data(START_ARENA, arena_input("Prod", models), token=owner.token))["startArena"]
            events, error = await follow_arena(topology.ws_url, owner.token, arena["id"], after_seq=0, timeout=120)
            resumed, _ = await follow_arena(topology.ws_url, owner.token, arena["id"], after_seq=10)
            own = {r["id"]: (await follow_run(topology.ws_url, owner.token, r["id"]))[0] for r in arena["runs"]}
            result = (await api.data(STANDINGS, {"id": arena["id"]}, token=owner.token))["arena"]
            curves = {
                run["id"]: (await api.data(CURVE, {"id": run["id"]}, token=owner.token))["run"]["equityCurve"]
                for run in result["runs"]
            }
        logs = topology.log("worker") + topology.log("worker2")
        assert "Traceback" not in logs, logs[-3000:]

    assert error is None
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["kind"] == "ENDED" and events[-1]["status"] == "COMPLETED"
    assert sum(e["kind"] == "ENDED" for e in events) == 1
    for run_id, run_events in own.items():
        tagged = [e["runEvent"] for e in events if e["runId"] == run_id]
        assert [(e["seq"], e["kind"]) for e in tagged] == [(e["seq"], e["kind"]) for e in run_events]
        assert tagged[-1]["kind"] == "COMPLETED"
    assert resumed == events[10:]

    assert result["status"] == "COMPLETED" and result["endedAt"]
    baseline_return = result["benchmarks"][0]["performance"]["totalReturn"]
    returns = {
        run_id: pd.Series([10_000.0] + [p["value"] for p in curve]).iloc[-1] / 10_000 - 1
        for run_id, curve in curves.items()
    }
    assert all(len(curve) == len(DAYS) for curve in curves.values())
    ranked = sorted(returns, key=lambda run_id: -returns[run_id])
    assert [s["run"]["id"] for s in result["standings"]] == ranked
    for standing in result["standings"]:
        assert standing["totalReturn"] == pytest.approx(returns[standing["run"]["id"]], abs=1e-12)
        assert standing["excessReturn"] == pytest.approx(returns[standing["run"]["id"]] - baseline_return, abs=1e-9)
