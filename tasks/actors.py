"""Dramatiq actors. Run a worker with `aibt worker` or `dramatiq tasks.actors`.

tasks.broker is imported before any actor is declared: importing it sets the broker they are declared on.
"""

from __future__ import annotations

import dramatiq

from db_models.log_context import current_request_id
from db_models.settings import get_settings
from tasks.broker import broker
from tasks.chat_replies import reply_to_message
from tasks.dispatch import BrokerDispatcher
from tasks.price_fetch_jobs import execute_fetch_job
from tasks.run_executor import execute_run
from tasks.worker_runtime import WorkerRuntime

# Runs last hours; a run that dies is picked up again by the reaper, not by blind retries.
RUN_TIME_LIMIT_MS = 24 * 60 * 60 * 1000
REPLY_TIME_LIMIT_MS = 15 * 60 * 1000
# A NASDAQ-100 refresh at a free key's pace takes hours; a lost worker's job is resumed by the reaper.
FETCH_TIME_LIMIT_MS = 24 * 60 * 60 * 1000


@dramatiq.actor(queue_name="runs", time_limit=RUN_TIME_LIMIT_MS, max_retries=0)
async def run_trading(run_id: int, request_id: str = "-") -> None:
    current_request_id.set(request_id)  # log lines of the run name the request that started it
    await execute_run(run_id, bus=runtime.bus, settings=get_settings(), worker_id=runtime.worker_id)


@dramatiq.actor(queue_name="chat", time_limit=REPLY_TIME_LIMIT_MS, max_retries=0)
async def reply_to_chat(conversation_id: int, message_id: int, request_id: str = "-") -> None:
    current_request_id.set(request_id)
    await reply_to_message(conversation_id, message_id, bus=runtime.bus, settings=get_settings())


@dramatiq.actor(queue_name="price-fetches", time_limit=FETCH_TIME_LIMIT_MS, max_retries=0)
async def fetch_price_data(job_id: int, request_id: str = "-") -> None:
    current_request_id.set(request_id)
    await execute_fetch_job(job_id, bus=runtime.bus, settings=get_settings(), worker_id=runtime.worker_id)


# The API sends through this dispatcher; a worker's reaper hands lost runs and fetch jobs back through it too.
dispatcher = BrokerDispatcher(run_trading, reply_to_chat, fetch_price_data)
# Boots Tortoise, the event bus and the reaper in a worker process (never in the API, which runs no Worker).
runtime = WorkerRuntime(dispatcher)
broker.add_middleware(runtime)
