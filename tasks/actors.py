"""Dramatiq actors. Run a worker with `aibt worker` or `dramatiq tasks.actors`."""

from __future__ import annotations

from tasks.broker import broker  # noqa: F401  (the broker must be set before actors are declared)

import dramatiq  # noqa: E402

from db_models.settings import get_settings  # noqa: E402
from tasks import worker_runtime  # noqa: E402
from tasks.run_executor import execute_run  # noqa: E402

# Runs last hours; a run that dies is picked up again by the reaper, not by blind retries.
RUN_TIME_LIMIT_MS = 24 * 60 * 60 * 1000


@dramatiq.actor(queue_name="runs", time_limit=RUN_TIME_LIMIT_MS, max_retries=0)
async def run_trading(run_id: int) -> None:
    await execute_run(run_id, bus=worker_runtime.event_bus(), settings=get_settings(),
                      worker_id=worker_runtime.WORKER_ID)
