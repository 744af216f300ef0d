"""What an async actor needs on the worker's event-loop thread: Tortoise and the event bus.

Dramatiq runs every async actor of a process on one event-loop thread; Tortoise keeps its set-up per
async context, so it is initialised on that loop, once, when the worker boots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

import dramatiq
import redis.asyncio as aioredis
from dramatiq.asyncio import get_event_loop_thread
from tortoise import Tortoise

from db_models.config import tortoise_config
from db_models.log_context import configure_logging
from db_models.settings import get_settings
from tasks.dispatch import Dispatcher
from tasks.events import EventBus, InProcessEventBus, RedisEventBus
from tasks.metrics import serve_worker_metrics
from tasks.reaper import reap_forever

logger = logging.getLogger("aibt.worker")

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
HEARTBEAT_SECONDS = 10
_bus: EventBus | None = None
_heartbeat: asyncio.Task | None = None
_background: set[asyncio.Task] = set()


def _worker_key(prefix: str, worker_id: str = "*") -> str:
    return f"{prefix}workers:{worker_id}"


async def _beat(settings) -> None:
    """Announces this worker while it lives; the key expires three beats after the last one."""
    client = aioredis.from_url(settings.redis_url)
    try:
        while True:
            try:
                await client.set(_worker_key(settings.redis_prefix, WORKER_ID), "1", ex=3 * HEARTBEAT_SECONDS)
            except (aioredis.RedisError, OSError) as exc:
                logger.warning("worker heartbeat failed: %r", exc)
            await asyncio.sleep(HEARTBEAT_SECONDS)
    finally:
        await client.aclose()


async def live_worker_count(settings) -> int:
    """Workers whose heartbeat is fresh; in embedded mode, the API process itself is the one worker."""
    if not settings.redis_url:
        return 1
    client = aioredis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return len([key async for key in client.scan_iter(_worker_key(settings.redis_prefix))])
    except (aioredis.RedisError, OSError):
        return 0
    finally:
        await client.aclose()


def event_bus() -> EventBus:
    if _bus is None:
        raise RuntimeError("The worker runtime has not booted.")
    return _bus


async def _boot() -> None:
    global _bus, _heartbeat
    settings = get_settings()
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    _bus = (
        RedisEventBus(settings.redis_url, prefix=settings.redis_prefix) if settings.redis_url else InProcessEventBus()
    )
    if settings.redis_url:
        _heartbeat = asyncio.create_task(_beat(settings), name="aibt-worker-heartbeat")
    dispatcher = Dispatcher(settings, _bus)
    _background.add(asyncio.create_task(reap_forever(settings, _bus, dispatcher), name="aibt-reaper"))


async def _shutdown() -> None:
    for task in _background:
        task.cancel()
    if _heartbeat is not None:
        _heartbeat.cancel()
        settings = get_settings()
        client = aioredis.from_url(settings.redis_url)
        await client.delete(_worker_key(settings.redis_prefix, WORKER_ID))
        await client.aclose()
    if _bus is not None:
        await _bus.close()
    await Tortoise.close_connections()


class WorkerRuntime(dramatiq.Middleware):
    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        configure_logging(os.environ.get("AIBT_LOG_LEVEL", "INFO"))
        serve_worker_metrics(int(os.environ.get("AIBT_WORKER_METRICS_PORT", "9191")))
        get_event_loop_thread().run_coroutine(_boot())
        logger.info("worker %s ready", WORKER_ID)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = get_event_loop_thread()
        if thread is not None:
            with contextlib.suppress(RuntimeError, asyncio.CancelledError):
                thread.run_coroutine(_shutdown())
