"""What an async actor needs on the worker's event-loop thread: Tortoise, the event bus, a heartbeat and
the reaper.

Dramatiq runs every async actor of a process on one event-loop thread; Tortoise keeps its set-up per
async context, so it is initialised on that loop, once, when the worker boots. The runtime is given the
dispatcher its reaper hands lost runs to (tasks/actors.py builds it from the actors): it imports neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import socket
import uuid
from collections.abc import Coroutine
from typing import Any

import dramatiq
import redis.asyncio as aioredis
from dramatiq.asyncio import get_event_loop_thread
from tortoise import Tortoise

from db_models.config import tortoise_config
from db_models.log_context import configure_logging
from db_models.settings import Settings, get_settings
from tasks.events import EventBus, InProcessEventBus, RedisEventBus
from tasks.metrics import serve_worker_metrics
from tasks.reaper import RunHandOver, reap_forever
from tasks.tool_sessions import close_tool_sessions

logger = logging.getLogger("aibt.worker")

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
HEARTBEAT_SECONDS = 10
# HTTP clients that log a line per request at INFO: the LLM calls and the MCP tool calls of every run, a
# few dozen lines a run written from the event-loop thread. Their warnings and errors still show.
CHATTY_LOGGERS = ("httpx", "httpx2", "mcp.client.streamable_http")


def _worker_key(prefix: str, worker_id: str = "*") -> str:
    return f"{prefix}workers:{worker_id}"


async def _beat(settings: Settings) -> None:
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


async def live_worker_count(settings: Settings) -> int:
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


class WorkerRuntime(dramatiq.Middleware):
    """Boots with the worker process and shuts down with it; the actors read its bus and worker id."""

    def __init__(self, dispatcher: RunHandOver) -> None:
        self.dispatcher = dispatcher
        self.worker_id = WORKER_ID
        self._bus: EventBus | None = None
        self._background: set[asyncio.Task] = set()

    @property
    def bus(self) -> EventBus:
        if self._bus is None:
            raise RuntimeError("The worker runtime has not booted.")
        return self._bus

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Boots before the worker threads start taking messages (after_worker_boot runs once they have: a
        run taken in between failed with "not booted"). The AsyncIO middleware, added to the broker first,
        has started the event-loop thread by now."""
        configure_logging(os.environ.get("AIBT_LOG_LEVEL", "INFO"))
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:  # AIBT_LOG_LEVEL=DEBUG keeps them
            for name in CHATTY_LOGGERS:
                logging.getLogger(name).setLevel(logging.WARNING)
        serve_worker_metrics(int(os.environ.get("AIBT_WORKER_METRICS_PORT", "9191")))
        # The remote models' client, imported lazily by agents/llm.py, is imported here once: on the first
        # remote run it would take half a second of the event-loop thread every run of the process shares.
        importlib.import_module("langchain_openai")
        get_event_loop_thread().run_coroutine(self._boot())
        logger.info("worker %s ready", self.worker_id)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = get_event_loop_thread()
        if thread is not None:
            with contextlib.suppress(RuntimeError, asyncio.CancelledError):
                thread.run_coroutine(self._shutdown())

    async def _boot(self) -> None:
        settings = get_settings()
        await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
        self._bus = (
            RedisEventBus(settings.redis_url, prefix=settings.redis_prefix)
            if settings.redis_url
            else InProcessEventBus()
        )
        if settings.redis_url:
            self._start(_beat(settings), "aibt-worker-heartbeat")
        self._start(reap_forever(settings, self._bus, self.dispatcher), "aibt-reaper")

    def _start(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        self._background.add(asyncio.create_task(coroutine, name=name))

    async def _shutdown(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        settings = get_settings()
        if settings.redis_url:
            client = aioredis.from_url(settings.redis_url)
            await client.delete(_worker_key(settings.redis_prefix, self.worker_id))
            await client.aclose()
        if self._bus is not None:
            await self._bus.close()
        await close_tool_sessions()
        await Tortoise.close_connections()
