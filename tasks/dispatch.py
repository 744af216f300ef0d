"""Hands runs, chat replies and price fetch jobs to whoever executes them: the broker's workers in
production, tasks of this process in embedded mode. The API and the reaper see only the Dispatcher protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Protocol

import dramatiq

from db_models.log_context import current_request_id
from db_models.settings import Settings
from tasks.broker import held_first_arguments
from tasks.chat_replies import reply_to_message
from tasks.events import EventBus
from tasks.price_fetch_jobs import execute_fetch_job
from tasks.run_executor import execute_run

RUN_TASK_PREFIX = "aibt-run-"
FETCH_TASK_PREFIX = "aibt-fetch-"


class Dispatcher(Protocol):
    """pending_run_ids, pending_fetch_job_ids: what a worker will still be handed, so the reaper leaves it be."""

    async def enqueue_run(self, run_id: int) -> None: ...
    async def enqueue_reply(self, conversation_id: int, message_id: int) -> None: ...
    async def enqueue_fetch_job(self, job_id: int) -> None: ...
    async def pending_run_ids(self) -> set[int]: ...
    async def pending_fetch_job_ids(self) -> set[int]: ...
    async def close(self) -> None: ...


class BrokerDispatcher:
    """Production: one message per run, reply or fetch job on the Redis broker, for `aibt worker` processes.

    Given the actors rather than importing them: tasks/actors.py builds one for its workers' reaper."""

    def __init__(self, run_actor: dramatiq.Actor, reply_actor: dramatiq.Actor, fetch_actor: dramatiq.Actor) -> None:
        self.run_actor = run_actor
        self.reply_actor = reply_actor
        self.fetch_actor = fetch_actor

    async def enqueue_run(self, run_id: int) -> None:
        await asyncio.to_thread(self.run_actor.send, run_id, current_request_id.get())

    async def enqueue_reply(self, conversation_id: int, message_id: int) -> None:
        await asyncio.to_thread(self.reply_actor.send, conversation_id, message_id, current_request_id.get())

    async def enqueue_fetch_job(self, job_id: int) -> None:
        await asyncio.to_thread(self.fetch_actor.send, job_id, current_request_id.get())

    async def pending_run_ids(self) -> set[int]:
        """Messages the broker holds for the runs queue: waiting, delayed or being worked on."""
        return await asyncio.to_thread(held_first_arguments, self.run_actor.broker, self.run_actor.queue_name)

    async def pending_fetch_job_ids(self) -> set[int]:
        return await asyncio.to_thread(held_first_arguments, self.fetch_actor.broker, self.fetch_actor.queue_name)

    async def close(self) -> None:
        """Nothing to release: the messages belong to the broker."""


class InProcessDispatcher:
    """Embedded mode: each run, reply or fetch job is a task of this process, cancelled when it stops."""

    def __init__(self, settings: Settings, bus: EventBus) -> None:
        self.settings = settings
        self.bus = bus
        self._local_tasks: set[asyncio.Task] = set()

    async def enqueue_run(self, run_id: int) -> None:
        self._spawn(
            execute_run(run_id, bus=self.bus, settings=self.settings, worker_id="embedded"),
            f"{RUN_TASK_PREFIX}{run_id}",
        )

    async def enqueue_reply(self, conversation_id: int, message_id: int) -> None:
        self._spawn(
            reply_to_message(conversation_id, message_id, bus=self.bus, settings=self.settings),
            f"aibt-reply-{conversation_id}",
        )

    async def enqueue_fetch_job(self, job_id: int) -> None:
        self._spawn(
            execute_fetch_job(job_id, bus=self.bus, settings=self.settings, worker_id="embedded"),
            f"{FETCH_TASK_PREFIX}{job_id}",
        )

    async def pending_run_ids(self) -> set[int]:
        """Runs whose task is still alive."""
        return self._alive(RUN_TASK_PREFIX)

    async def pending_fetch_job_ids(self) -> set[int]:
        """Fetch jobs whose task is still alive."""
        return self._alive(FETCH_TASK_PREFIX)

    def _alive(self, prefix: str) -> set[int]:
        return {
            int(task.get_name().removeprefix(prefix))
            for task in self._local_tasks
            if task.get_name().startswith(prefix) and not task.done()
        }

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._local_tasks.add(task)
        task.add_done_callback(self._local_tasks.discard)

    async def close(self) -> None:
        for task in list(self._local_tasks):
            task.cancel()
        await asyncio.gather(*self._local_tasks, return_exceptions=True)
