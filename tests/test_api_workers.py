"""More than one API process: `aibt serve --workers N` needs Redis (embedded state lives in one process), and
a subscriber on one API process gets the events another API process publishes (real processes, one Redis)."""

from __future__ import annotations

import json

import httpx
import pytest

from db_models.runs import RunStatus
from graphql_api.ids import to_global_id
from tests.support.fanout import fanout_api, signed_up_run
from tests.support.graphql_client import GraphQLClient, follow_subscription
from tests.support.processes import clean_env, run_aibt

pytestmark = pytest.mark.timeout(180)
EVENTS = "subscription($id: ID!) { runEvents(runId: $id) { seq kind status message } }"
CANCEL = "mutation($id: ID!) { cancelRun(id: $id) { status } }"


@pytest.mark.database_independent  # refused before any database is opened
def test_workers_without_redis_are_refused_with_the_reason(tmp_path):
    done = run_aibt("serve", "--workers", "2", env=clean_env(AIBT_DATA_DIR=str(tmp_path)), cwd=tmp_path)
    assert done.returncode != 0
    assert "--workers above 1 needs REDIS_URL" in done.stderr


async def test_a_subscriber_on_one_api_process_gets_what_another_publishes(settings, server_url, tmp_path):
    async with fanout_api(settings, tmp_path / "a") as first:
        second_env = {"AIBT_REDIS_PREFIX": first.prefix}
        async with fanout_api(settings, tmp_path / "b", **second_env) as second:
            token, run = await signed_up_run(first, RunStatus.QUEUED)
            run_id = to_global_id("Run", run.id)

            async def cancel_through_the_other_process() -> None:
                async with httpx.AsyncClient(base_url=second.topology.api_url, timeout=30) as http:
                    data = await GraphQLClient(http).data(CANCEL, {"id": run_id}, token=token)
                assert data["cancelRun"]["status"] == "CANCELLED"

            followed = await follow_subscription(
                first.topology.ws_url, token, EVENTS, {"id": run_id}, on_open=cancel_through_the_other_process
            )
    assert followed.error is None
    assert followed.events == [
        {"seq": 1, "kind": "CANCELLED", "status": "CANCELLED", "message": "Cancelled before it started."}
    ]
    assert json.loads(followed.raw[-1]) == {"id": "1", "type": "complete"}
