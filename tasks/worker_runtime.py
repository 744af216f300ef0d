"""What an async actor needs on the worker's event-loop thread: Tortoise and the event bus.

Dramatiq runs every async actor of a process on one event-loop thread; Tortoise keeps its set-up per
async context, so it is initialised on that loop, once, when the worker boots.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from tortoise import Tortoise

from db_models.config import tortoise_config
from db_models.settings import get_settings
from tasks.events import EventBus, InProcessEventBus, RedisEventBus

logger = logging.getLogger("aibt.worker")

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
_bus: EventBus | None = None


def event_bus() -> EventBus:
    if _bus is None:
        raise RuntimeError("The worker runtime has not booted.")
    return _bus


async def _boot() -> None:
    global _bus
    settings = get_settings()
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    _bus = RedisEventBus(settings.redis_url, prefix=settings.redis_prefix) if settings.redis_url \
        else InProcessEventBus()


async def _shutdown() -> None:
    if _bus is not None:
        await _bus.close()
    await Tortoise.close_connections()


class WorkerRuntime(dramatiq.Middleware):
    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        get_event_loop_thread().run_coroutine(_boot())
        logger.info("worker %s ready", WORKER_ID)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = get_event_loop_thread()
        if thread is not None:
            try:
                thread.run_coroutine(_shutdown())
            except (RuntimeError, asyncio.CancelledError):
                pass
