"""Which failures mean "a backing service is down right now" rather than "something is wrong"."""

from __future__ import annotations

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tortoise.exceptions import DBConnectionError

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    DBConnectionError,
    ConnectionError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    RedisConnectionError,
    RedisTimeoutError,
)


def is_unavailable(exc: BaseException) -> bool:
    """True when exc, or what caused it, says a database or Redis could not be reached."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, UNAVAILABLE_ERRORS):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
