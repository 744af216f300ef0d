"""Finds runs whose worker stopped showing life and gives them to another worker, or fails them; and
queued runs that no worker will ever be handed (their message was lost, e.g. with an emptied Redis, or
the embedded server restarted), which it dispatches again. Price fetch jobs get the same care.

A run is resumable (the executor continues at its first unfinished step), so a worker killed in the
middle of a run costs only the step it was on. After max_run_attempts the run fails with a reason.
A run dispatched twice is harmless: only one worker can claim it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from db_models.runs import Run, RunStatus
from db_models.settings import Settings
from tasks.events import EventBus
from tasks.price_fetch_jobs import reap_fetch_jobs
from tasks.run_executor import finish_run

logger = logging.getLogger("aibt.reaper")

Enqueue = Callable[[int], Awaitable[None]]


class RunHandOver(Protocol):
    """What the reaper needs of a dispatcher (tasks/dispatch.py), which it is given, never imports."""

    async def enqueue_run(self, run_id: int) -> None: ...
    async def pending_run_ids(self) -> set[int]: ...
    async def enqueue_fetch_job(self, job_id: int) -> None: ...
    async def pending_fetch_job_ids(self) -> set[int]: ...


async def reap_orphaned_runs(settings: Settings, bus: EventBus, enqueue: Enqueue) -> list[int]:
    """Releases and re-dispatches every orphaned run; returns the ids it acted on."""
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.run_stale_seconds)
    orphans = await Run.filter(status=RunStatus.RUNNING, worker_id__isnull=False, heartbeat_at__lt=stale)
    acted = []
    for run in orphans:
        # Only the reaper that changes the row acts on it: two reapers never both re-dispatch a run.
        released = await Run.filter(
            id=run.id, status=RunStatus.RUNNING, worker_id=run.worker_id, heartbeat_at__lt=stale
        ).update(worker_id=None)
        if not released:
            continue
        acted.append(run.id)
        if run.attempts >= settings.max_run_attempts:
            logger.error("run %s lost its worker %s times; failing it", run.id, run.attempts)
            await finish_run(
                run, bus, RunStatus.FAILED, error=f"The run's worker stopped {run.attempts} times; it was given up."
            )
        else:
            logger.warning("run %s lost its worker %s; resuming it elsewhere", run.id, run.worker_id)
            await enqueue(run.id)
    return acted


async def redispatch_lost_queued_runs(settings: Settings, dispatcher: RunHandOver) -> list[int]:
    """Dispatches again every run queued for longer than run_stale_seconds that the dispatcher no longer
    holds; returns their ids."""
    waited = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.run_stale_seconds)
    queued = await Run.filter(status=RunStatus.QUEUED, created_at__lt=waited).values_list("id", flat=True)
    if not queued:
        return []
    pending = await dispatcher.pending_run_ids()
    lost = [run_id for run_id in queued if run_id not in pending]
    for run_id in lost:
        logger.warning("run %s is queued but no worker will be handed it; dispatching it again", run_id)
        await dispatcher.enqueue_run(run_id)
    return lost


async def reap_forever(settings: Settings, bus: EventBus, dispatcher: RunHandOver) -> None:
    every = max(settings.run_stale_seconds / 2, 0.5)
    while True:
        await asyncio.sleep(every)
        try:
            await reap_orphaned_runs(settings, bus, dispatcher.enqueue_run)
            await redispatch_lost_queued_runs(settings, dispatcher)
            await reap_fetch_jobs(settings, bus, dispatcher)
        except Exception:  # a database or broker blip: the next round tries again
            logger.exception("reaping orphaned runs failed")
