"""Helpers for run tests: tool servers the runs reach, and following a run's events over a websocket."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest_asyncio

from tasks.tool_sessions import close_tool_sessions
from tests.support import price_fixtures as px
from tests.support.graphql_client import follow_subscription, until_count
from tests.support.tool_servers import running_tool_servers

RUN_EVENTS = """subscription($id: ID!, $after: Int) { runEvents(runId: $id, afterSeq: $after) {
  seq runId kind status message at progress { current total message currentDate }
  position { id actionId action symbol amount price holdings cash date timestamp } } }"""

START_DAILY = """mutation($model: ID!, $input: DailyRunInput!) { startDailyRun(modelId: $model, input: $input) {
  id runNumber status mode startDate endDate maxSteps strategySnapshot progress { current total } } }"""


@asynccontextmanager
async def tool_servers_for_runs() -> AsyncIterator[dict[str, str]]:
    """All four tool servers in this process; workers find them through AIBT_<NAME>_URL."""
    async with running_tool_servers("math", "search", "price", "trade") as urls:
        previous = {name: os.environ.get(f"AIBT_{name.upper()}_URL") for name in urls}
        os.environ.update({f"AIBT_{name.upper()}_URL": url for name, url in urls.items()})
        try:
            yield urls
        finally:
            await close_tool_sessions()  # the process's shared sessions to these servers end before the servers
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(f"AIBT_{name.upper()}_URL", None)
                else:
                    os.environ[f"AIBT_{name.upper()}_URL"] = value


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def market(server_url):
    """The test bars in the database and all four tool servers running, for one test module."""
    async with px.test_bars(), tool_servers_for_runs() as urls:
        yield urls


async def follow_run(
    ws_url: str, token: str, run_id: str, after_seq: int | None = None, limit: int | None = None, timeout: float = 120
) -> tuple[list[dict], dict | None]:
    """Subscribes to runEvents; returns (events, error) once the stream completes, errors or reaches limit."""
    followed = await follow_subscription(
        ws_url, token, RUN_EVENTS, {"id": run_id, "after": after_seq}, until=until_count(limit), timeout=timeout
    )
    return followed.events, followed.error
