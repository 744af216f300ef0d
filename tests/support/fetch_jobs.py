"""Helpers for price fetch job tests: the operations, following a job's events, an `aibt serve` to point
at the Alpha Vantage stand-in, and its settings."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PASSWORD, SIGNUP
from tests.support import databases
from tests.support.alphavantage import API_KEY, StandIn
from tests.support.graphql_client import GraphQLClient, follow_subscription
from tests.support.processes import AIBT, clean_env
from tests.support.server import free_port
from tests.support.topology import wait_for_http

FETCH_PRICES = """mutation($input: FetchPricesInput!) { fetchPrices(input: $input) {
  id status symbols interval from to actions progress { current total message } } }"""
JOB = """query($id: ID!) { priceFetchJob(id: $id) {
  id status error attempts symbols startedAt endedAt cancelRequested requestedBy { email }
  progress { current total message }
  results { symbol status barsAdded barsUpdated firstDate lastDate actionsAdded requests message } } }"""
JOBS = "query { priceFetchJobs(first: 5) { totalCount edges { node { id status } } } }"
EVENTS = """subscription($id: ID!, $after: Int) { priceFetchEvents(jobId: $id, afterSeq: $after) {
  seq jobId kind status symbol message at progress { current total message }
  result { symbol status barsAdded firstDate lastDate actionsAdded requests message } } }"""


async def follow_fetch(
    ws_url: str, token: str, job_id: str, after_seq: int | None = None, timeout: float = 120
) -> tuple[list[dict], dict | None, list[str]]:
    """Subscribes to priceFetchEvents until the stream completes or errors: (events, error, raw messages)."""
    followed = await follow_subscription(ws_url, token, EVENTS, {"id": job_id, "after": after_seq}, timeout=timeout)
    return followed.events, followed.error, followed.raw


CANCEL = "mutation($id: ID!) { cancelPriceFetch(id: $id) { id status cancelRequested endedAt } }"
ADMIN, USER = "boss@example.com", "clerk@example.com"


@asynccontextmanager
async def embedded_env(stand_in: StandIn, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """Settings for an embedded `aibt serve` on a fresh database, ADMIN an admin by the approved list (USER a
    user), fetching from the stand-in as fast as it answers."""
    stand_in.reset()
    approved = tmp_path / "approved.json"
    approved.write_text(json.dumps({"admins": [ADMIN], "users": [USER]}))
    database_url, pg_name = await databases.create_database(tmp_path)
    try:
        yield clean_env(
            DATABASE_URL=database_url,
            AIBT_DATA_DIR=str(tmp_path / "data"),
            AIBT_APPROVED_USERS=str(approved),
            ALPHAVANTAGE_API_KEY=API_KEY,
            AIBT_ALPHAVANTAGE_URL=stand_in.url,
            AIBT_ALPHAVANTAGE_CALLS_PER_MINUTE="60000",
            AIBT_ALPHAVANTAGE_THROTTLE_WAIT_SECONDS="0.01",
            AIBT_RUN_STALE_SECONDS="2",
        )
    finally:
        await databases.drop_database(pg_name)


async def signed_up(api: GraphQLClient, email: str) -> str:
    return (await api.data(SIGNUP, {"email": email, "password": PASSWORD}))["signup"]["token"]


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    log: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def embedded_aibt(env: dict[str, str], cwd: Path, name: str = "serve") -> AsyncIterator[Served]:
    """`aibt serve --log-level debug` in embedded mode, in its own process, while this loop goes on serving."""
    port = free_port()
    log_path = cwd / f"{name}-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [AIBT, "serve", "--log-level", "debug"],
            env={"AIBT_START_TOOLS": "0", "AIBT_SEED_PRICES": "0", **env, "PORT": str(port)},
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            await wait_for_http(f"{url}/healthz", process, "aibt serve", str(log_path))
            yield Served(url, process, log_path)
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
