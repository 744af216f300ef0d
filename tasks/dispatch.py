"""Hands a run, a chat reply or a price fetch job to a worker: the Redis broker in production, an
in-process task in embedded mode."""

from __future__ import annotations

import asyncio
import logging

from db_models.log_context import current_request_id
from db_models.settings import Settings
from tasks.events import EventBus

logger = logging.getLogger("aibt.dispatch")

RUN_TASK_PREFIX = "aibt-run-"
FETCH_TASK_PREFIX = "aibt-fetch-"


class Dispatcher:
    def __init__(self, settings: Settings, bus: EventBus) -> None:
        self.settings = settings
        self.bus = bus
        self._local_tasks: set[asyncio.Task] = set()

    async def enqueue_run(self, run_id: int) -> None:
        if self.settings.redis_url:
            from tasks.actors import run_trading

            await asyncio.to_thread(run_trading.send, run_id, current_request_id.get())
            return
        from tasks.run_executor import execute_run

        self._spawn(
            execute_run(run_id, bus=self.bus, settings=self.settings, worker_id="embedded"),
            f"{RUN_TASK_PREFIX}{run_id}",
        )

    async def pending_run_ids(self) -> set[int]:
        """The runs a worker will still be handed: messages the broker holds, or live in-process tasks."""
        if self.settings.redis_url:
            from tasks.actors import run_trading
            from tasks.broker import held_first_arguments

            return await asyncio.to_thread(held_first_arguments, run_trading.broker, run_trading.queue_name)
        return self._local_ids(RUN_TASK_PREFIX)

    async def enqueue_fetch_job(self, job_id: int) -> None:
        if self.settings.redis_url:
            from tasks.actors import fetch_price_data

            await asyncio.to_thread(fetch_price_data.send, job_id, current_request_id.get())
            return
        from tasks.price_fetch_jobs import execute_fetch_job

        self._spawn(
            execute_fetch_job(job_id, bus=self.bus, settings=self.settings, worker_id="embedded"),
            f"{FETCH_TASK_PREFIX}{job_id}",
        )

    async def pending_fetch_job_ids(self) -> set[int]:
        """The fetch jobs a worker will still be handed."""
        if self.settings.redis_url:
            from tasks.actors import fetch_price_data
            from tasks.broker import held_first_arguments

            return await asyncio.to_thread(held_first_arguments, fetch_price_data.broker, fetch_price_data.queue_name)
        return self._local_ids(FETCH_TASK_PREFIX)

    def _local_ids(self, prefix: str) -> set[int]:
        return {
            int(task.get_name().removeprefix(prefix))
            for task in self._local_tasks
            if task.get_name().startswith(prefix) and not task.done()
        }

    async def enqueue_reply(self, conversation_id: int, message_id: int) -> None:
        if self.settings.redis_url:
            from tasks.actors import reply_to_chat

            await asyncio.to_thread(reply_to_chat.send, conversation_id, message_id, current_request_id.get())
            return
        from tasks.chat_replies import reply_to_message

        self._spawn(
            reply_to_message(conversation_id, message_id, bus=self.bus, settings=self.settings),
            f"aibt-reply-{conversation_id}",
        )

    def _spawn(self, coroutine, name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._local_tasks.add(task)
        task.add_done_callback(self._local_tasks.discard)

    async def close(self) -> None:
        for task in list(self._local_tasks):
            task.cancel()
        await asyncio.gather(*self._local_tasks, return_exceptions=True)
