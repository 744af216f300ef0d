"""Running an admin's price fetch job on a worker: claim it, fetch symbol by symbol, publish as it goes.

The job is resumable. Every finished symbol is in the job's results (and its bars in the database)
before its event is published; a job taken up again after its worker was lost skips the symbols in its
results, and the fetch itself asks nothing for what is already stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Protocol

from tortoise.expressions import F

from db_models.market import PriceInterval
from db_models.price_fetch.errors import FetchError
from db_models.price_fetch.planner import FetchRequest
from db_models.price_fetch.results import FetchReport, SymbolResult
from db_models.price_fetch.runner import FetchObserver, fetch_prices
from db_models.price_fetches import ACTIVE_FETCH_STATUSES, FetchJobStatus, PriceFetchJob
from db_models.settings import Settings
from tasks.events import EventBus
from tasks.price_fetch_events import PriceFetchEventKind, publish_fetch_event

logger = logging.getLogger("aibt.price_fetch")

HEARTBEAT_SECONDS = 5.0
CANCELLED_UNHELD = "Cancelled by an admin while no worker held it."


class FetchJobHandOver(Protocol):
    """What the reaper needs to hand a job to a worker again (a dispatcher, given, never imported)."""

    async def enqueue_fetch_job(self, job_id: int) -> None: ...
    async def pending_fetch_job_ids(self) -> set[int]: ...


def request_of(job: PriceFetchJob) -> FetchRequest:
    return FetchRequest(
        symbols=tuple(job.symbols),
        interval=PriceInterval(job.interval),
        start=job.start_date,
        end=job.end_date,
        actions=job.with_actions,
    )


class _JobProgress(FetchObserver):
    """Writes the job's progress and results, then publishes the event that announces them."""

    def __init__(self, job: PriceFetchJob, bus: EventBus) -> None:
        self.job, self.bus = job, bus

    async def _save(self, kind: PriceFetchEventKind, message: str, **fields) -> None:
        self.job.progress_message = message
        self.job.heartbeat_at = dt.datetime.now(dt.UTC)
        await self.job.save(update_fields=["progress_message", "progress_current", "results", "heartbeat_at"])
        await publish_fetch_event(self.bus, self.job, kind, **fields)

    async def symbol_started(self, symbol: str, index: int, total: int, calls: int) -> None:
        plan = f"{calls} call{'s' if calls != 1 else ''}" if calls else "nothing missing"
        await self._save(PriceFetchEventKind.SYMBOL_STARTED, f"{symbol}: {plan}", symbol=symbol)

    async def call_done(self, symbol: str, done: int, calls: int, label: str) -> None:
        await self._save(PriceFetchEventKind.PROGRESS, f"{symbol}: {label} ({done}/{calls})", symbol=symbol)

    async def symbol_finished(self, result: SymbolResult, index: int, total: int) -> None:
        self.job.results = [*self.job.results, result.to_json()]
        self.job.progress_current = len(self.job.results)
        await self._save(PriceFetchEventKind.SYMBOL_FINISHED, result.summary(), symbol=result.symbol, result=result)

    async def cancelled(self) -> bool:
        # Read before every call: calls are seconds apart at the provider's pace, the query is by key.
        return await PriceFetchJob.filter(id=self.job.id, cancel_requested=True).exists()


async def _claim(job_id: int, worker_id: str) -> PriceFetchJob | None:
    """Takes a queued job, or a running one nobody holds (its worker was lost); None if another worker has it."""
    now = dt.datetime.now(dt.UTC)
    claimed = await PriceFetchJob.filter(id=job_id, status__in=ACTIVE_FETCH_STATUSES, worker_id__isnull=True).update(
        status=FetchJobStatus.RUNNING, worker_id=worker_id, heartbeat_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    job = await PriceFetchJob.get(id=job_id)
    if job.started_at is None:
        job.started_at = now
        await job.save(update_fields=["started_at"])
    return job


async def _beat(job_id: int, worker_id: str) -> None:
    """Shows the job alive between events (a call may wait out a throttle for minutes)."""
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        with contextlib.suppress(Exception):  # a database blip: the next beat tries again
            await PriceFetchJob.filter(id=job_id, worker_id=worker_id).update(heartbeat_at=dt.datetime.now(dt.UTC))


async def execute_fetch_job(job_id: int, *, bus: EventBus, settings: Settings, worker_id: str) -> None:
    job = await _claim(job_id, worker_id)
    if job is None:
        logger.info("price fetch job %s is finished or held by another worker", job_id)
        return
    resumed = job.attempts > 1
    done_before = f"{len(job.results)} of {len(job.symbols)} symbols were done before"
    message = f"Resumed (attempt {job.attempts}): {done_before}." if resumed else None
    await publish_fetch_event(bus, job, PriceFetchEventKind.STARTED, message=message)
    done = {entry["symbol"] for entry in job.results}
    heartbeat = asyncio.create_task(_beat(job.id, worker_id), name=f"aibt-fetch-beat-{job.id}")
    try:
        report = await fetch_prices(settings, request_of(job), observer=_JobProgress(job, bus), skip=done)
    except FetchError as exc:
        await finish_fetch_job(job, bus, FetchJobStatus.FAILED, error=str(exc))
    except Exception:
        logger.exception("price fetch job %s failed", job.id)
        await finish_fetch_job(job, bus, FetchJobStatus.FAILED, error="The fetch failed unexpectedly; see the log.")
    else:
        await finish_fetch_job(job, bus, _final_status(report), error=report.stopped, message=report.outcome())
    finally:
        heartbeat.cancel()


def _final_status(report: FetchReport) -> FetchJobStatus:
    if report.cancelled:
        return FetchJobStatus.CANCELLED
    return FetchJobStatus.FAILED if report.stopped else FetchJobStatus.COMPLETED


FINAL_EVENTS = {
    FetchJobStatus.COMPLETED: PriceFetchEventKind.COMPLETED,
    FetchJobStatus.FAILED: PriceFetchEventKind.FAILED,
    FetchJobStatus.CANCELLED: PriceFetchEventKind.CANCELLED,
}


async def finish_fetch_job(
    job: PriceFetchJob, bus: EventBus, status: FetchJobStatus, *, error: str | None = None, message: str | None = None
) -> None:
    job.status, job.error, job.ended_at, job.worker_id = status, error, dt.datetime.now(dt.UTC), None
    job.active_slot = None  # the next fetch may start
    await job.save(update_fields=["status", "error", "ended_at", "worker_id", "active_slot"])
    await publish_fetch_event(bus, job, FINAL_EVENTS[status], message=error or message)


async def reap_fetch_jobs(settings: Settings, bus: EventBus, dispatcher: FetchJobHandOver) -> list[int]:
    """Hands again to a worker every job whose worker stopped showing life (or fails it after
    max_run_attempts), and every job queued for long that no worker will be handed; returns their ids."""
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.run_stale_seconds)
    acted = []
    for job in await PriceFetchJob.filter(
        status=FetchJobStatus.RUNNING, worker_id__isnull=False, heartbeat_at__lt=stale
    ):
        released = await PriceFetchJob.filter(id=job.id, worker_id=job.worker_id, heartbeat_at__lt=stale).update(
            worker_id=None
        )
        if not released:
            continue  # another reaper took it
        acted.append(job.id)
        if job.cancel_requested:  # no worker holds it any more: nothing is left to stop
            await finish_fetch_job(job, bus, FetchJobStatus.CANCELLED, error=CANCELLED_UNHELD)
        elif job.attempts >= settings.max_run_attempts:
            error = f"The job's worker stopped {job.attempts} times; it was given up."
            await finish_fetch_job(job, bus, FetchJobStatus.FAILED, error=error)
        else:
            logger.warning("price fetch job %s lost its worker %s; resuming it", job.id, job.worker_id)
            await dispatcher.enqueue_fetch_job(job.id)
    queued = await PriceFetchJob.filter(status=FetchJobStatus.QUEUED, created_at__lt=stale).values_list("id", flat=True)
    if queued:
        pending = await dispatcher.pending_fetch_job_ids()
        for job_id in (job_id for job_id in queued if job_id not in pending):
            logger.warning("price fetch job %s is queued but no worker will be handed it; dispatching it again", job_id)
            acted.append(job_id)
            await dispatcher.enqueue_fetch_job(job_id)
    return acted
