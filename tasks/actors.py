"""Dramatiq actors. Run a worker with `aibt worker` or `dramatiq tasks.actors`."""

from __future__ import annotations

import dramatiq

from db_models.log_context import current_request_id
from db_models.settings import get_settings
from tasks import worker_runtime
from tasks.broker import broker  # noqa: F401  (the broker must be set before actors are declared)
from tasks.chat_replies import reply_to_message
from tasks.price_fetch_jobs import execute_fetch_job
from tasks.run_executor import execute_run

# Runs last hours; a run that dies is picked up again by the reaper, not by blind retries.
RUN_TIME_LIMIT_MS = 24 * 60 * 60 * 1000


@dramatiq.actor(queue_name="runs", time_limit=RUN_TIME_LIMIT_MS, max_retries=0)
async def run_trading(run_id: int, request_id: str = "-") -> None:
    current_request_id.set(request_id)  # log lines of the run name the request that started it
    await execute_run(
        run_id, bus=worker_runtime.event_bus(), settings=get_settings(), worker_id=worker_runtime.WORKER_ID
    )


@dramatiq.actor(queue_name="chat", time_limit=15 * 60 * 1000, max_retries=0)
async def reply_to_chat(conversation_id: int, message_id: int, request_id: str = "-") -> None:
    current_request_id.set(request_id)
    await reply_to_message(conversation_id, message_id, bus=worker_runtime.event_bus(), settings=get_settings())


# A NASDAQ-100 refresh at a free key's pace takes hours; a lost worker's job is resumed by the reaper.
@dramatiq.actor(queue_name="price-fetches", time_limit=RUN_TIME_LIMIT_MS, max_retries=0)
async def fetch_price_data(job_id: int, request_id: str = "-") -> None:
    current_request_id.set(request_id)
    await execute_fetch_job(
        job_id, bus=worker_runtime.event_bus(), settings=get_settings(), worker_id=worker_runtime.WORKER_ID
    )
