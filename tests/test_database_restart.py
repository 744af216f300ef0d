"""PostgreSQL restarted in the middle of a run: the API answers UNAVAILABLE while it is down, then API and
worker recover without being restarted, the run finishes, and nothing committed before is lost."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import asyncpg
import httpx
import pytest

from tests.conftest import PASSWORD, SIGNUP, unique_email
from tests.support import private_postgres
from tests.support.databases import backend
from tests.support.graphql_client import GraphQLClient
from tests.support.processes import clean_env, run_aibt
from tests.support.run_helpers import START_DAILY, follow_run
from tests.support.topology import production_topology

pytestmark = pytest.mark.skipif(
    backend() != "postgres" or private_postgres.available() is not None,
    reason=f"Restarting PostgreSQL needs a private server, run in the PostgreSQL pass "
    f"({private_postgres.available() or 'available'}).",
)

START, END = dt.date(2010, 3, 1), dt.date(2010, 3, 31)
RUN = """query($id: ID!) { run(id: $id) { status error totalTrades positions(first: 100) { totalCount
  edges { node { actionId date action } } } logs(first: 50) { totalCount } equityCurve { date } } }"""


async def committed_rows(url: str) -> set[tuple]:
    connection = await asyncpg.connect(url)
    try:
        positions = await connection.fetch("SELECT 'position', action_id, date::text, action FROM positions")
        logs = await connection.fetch("SELECT 'log', 0, date::text, '' FROM reasoning_logs")
        return {tuple(r) for r in positions + logs}
    finally:
        await connection.close()


async def test_the_platform_rides_out_a_database_restart(settings, tmp_path, remote_llm):
    remote_llm.delay_seconds = 0.1
    with private_postgres.private_postgres() as database:
        env = clean_env(DATABASE_URL=database.url, AIBT_DATA_DIR=str(settings.data_dir))
        for command in (("migrate",), ("data", "seed")):
            result = run_aibt(*command, env=env, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
        private = dataclasses.replace(settings, database_url=database.url)
        async with production_topology(private, tmp_path, AIBT_RUN_STALE_SECONDS="3") as topology:
            async with httpx.AsyncClient(base_url=topology.api_url, timeout=30) as http:
                api = GraphQLClient(http)
                token = (await api.data(SIGNUP, {"email": unique_email("pg"), "password": PASSWORD}))["signup"]["token"]
                model = (
                    await api.data(
                        "mutation($i: CreateModelInput!) { createModel(input: $i) { id } }",
                        {"i": {"name": "Restart", "allowedTickers": ["AAPL"], "aiModel": "openai/gpt-5"}},
                        token=token,
                    )
                )["createModel"]["id"]
                run = (
                    await api.data(
                        START_DAILY,
                        {"model": model, "input": {"startDate": START.isoformat(), "endDate": END.isoformat()}},
                        token=token,
                    )
                )["startDailyRun"]
                await follow_run(topology.ws_url, token, run["id"], limit=12)
                before = await committed_rows(database.url)

                database.stop()
                down = await api.error("query($id: ID!) { run(id: $id) { status } }", {"id": run["id"]}, token=token)
                ready = await http.get("/readyz")
                await asyncio.sleep(2)
                database.start()

                events, error = await follow_run(topology.ws_url, token, run["id"], after_seq=0, timeout=180)
                result = (await api.data(RUN, {"id": run["id"]}, token=token))["run"]
                after = await committed_rows(database.url)
            worker_log = topology.log("worker")

    assert down["extensions"]["code"] == "UNAVAILABLE", down
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unreachable"
    assert error is None and events[-1]["kind"] == "COMPLETED", (result, worker_log[-3000:])
    assert result["status"] == "COMPLETED"
    assert before and before <= after  # nothing committed before the restart was lost
    action_ids = sorted(e["node"]["actionId"] for e in result["positions"]["edges"])
    assert action_ids == list(range(1, len(action_ids) + 1))
    assert result["logs"]["totalCount"] == len(result["equityCurve"]) == 23
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
