"""Liveness and readiness: the probes, and the checks the system status view shares with them."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.requests import Request
from starlette.responses import JSONResponse
from tortoise.connection import connections

logger = logging.getLogger("aibt.health")


async def database_status() -> str:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as exc:  # any failure means not ready; the reason goes to the log
        logger.warning("database check failed: %r", exc)
        return "unreachable"
    return "ok"


async def redis_status(url: str) -> str:
    # One quick retry: a probe must answer promptly, above all while Redis is down.
    client = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=2, retry=Retry(NoBackoff(), 1))
    try:
        await client.ping()
    except (aioredis.RedisError, OSError) as exc:
        logger.warning("redis check failed: %r", exc)
        return "unreachable"
    finally:
        await client.aclose()
    return "ok"


async def healthz(_: Request) -> JSONResponse:
    """The process is alive and serving."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers, and Redis too when the deployment uses it."""
    checks = {"database": await database_status()}
    settings = request.app.state.settings
    if settings.redis_url:
        checks["redis"] = await redis_status(settings.redis_url)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )
