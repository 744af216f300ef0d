"""Rate limits per client address and per user, and growing lockouts after failed logins.

Counters live in Redis when REDIS_URL is set, so every API replica counts against the same limits, and
in this process otherwise. Fixed windows: a key counts hits until its window expires.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from typing import TYPE_CHECKING, Protocol

import redis.asyncio as aioredis

from graphql_api.errors import RateLimited
from graphql_api.security.config import RateRule, SecurityConfig

if TYPE_CHECKING:
    from graphql_api.context import AppInfo, RequestContext

logger = logging.getLogger("aibt.security")


class CounterStore(Protocol):
    async def hit(self, key: str, window_seconds: float, amount: int = 1) -> tuple[int, float]:
        """Counts `amount` hits; returns the count in the current window and the seconds it has left."""

    async def lock(self, key: str, seconds: float) -> None: ...
    async def locked_for(self, key: str) -> float:
        """Seconds the key stays locked; 0 when it is not."""

    async def delete(self, *keys: str) -> None: ...
    async def reset(self) -> None: ...
    async def close(self) -> None: ...


class MemoryCounters:
    """Counters for one process (embedded mode)."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._locks: dict[str, float] = {}
        self._mutex = asyncio.Lock()

    async def hit(self, key: str, window_seconds: float, amount: int = 1) -> tuple[int, float]:
        now = time.monotonic()
        async with self._mutex:
            if len(self._counts) > 100_000:  # forget expired windows now and then
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            count, ends = self._counts.get(key, (0, 0.0))
            if ends <= now:
                count, ends = 0, now + window_seconds
            self._counts[key] = (count + amount, ends)
            return count + amount, ends - now

    async def lock(self, key: str, seconds: float) -> None:
        now = time.monotonic()
        if len(self._locks) > 100_000:
            self._locks = {k: ends for k, ends in self._locks.items() if ends > now}
        self._locks[key] = now + seconds

    async def locked_for(self, key: str) -> float:
        ends = self._locks.get(key)
        if ends is None:
            return 0.0
        left = ends - time.monotonic()
        if left <= 0:
            self._locks.pop(key, None)
            return 0.0
        return left

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._counts.pop(key, None)
            self._locks.pop(key, None)

    async def reset(self) -> None:
        self._counts.clear()
        self._locks.clear()

    async def close(self) -> None:
        pass


class RedisCounters:
    """Counters every API replica shares."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = f"{prefix}ratelimit:"
        self._client: aioredis.Redis | None = None

    @property
    def client(self) -> aioredis.Redis:
        if self._client is None:
            self._client = aioredis.from_url(self.url)
        return self._client

    async def hit(self, key: str, window_seconds: float, amount: int = 1) -> tuple[int, float]:
        name = self.prefix + key
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incrby(name, amount)
            pipe.pexpire(name, max(1, int(window_seconds * 1000)), nx=True)
            pipe.pttl(name)
            count, _, ttl_ms = await pipe.execute()
        return int(count), max(ttl_ms, 0) / 1000

    async def lock(self, key: str, seconds: float) -> None:
        await self.client.set(self.prefix + "lock:" + key, 1, px=max(1, int(seconds * 1000)))

    async def locked_for(self, key: str) -> float:
        ttl_ms = await self.client.pttl(self.prefix + "lock:" + key)
        return max(ttl_ms, 0) / 1000

    async def delete(self, *keys: str) -> None:
        if keys:
            await self.client.delete(*(self.prefix + k for k in keys), *(self.prefix + "lock:" + k for k in keys))

    async def reset(self) -> None:
        async for name in self.client.scan_iter(match=self.prefix + "*"):
            await self.client.delete(name)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


_SCOPE_WORDS = {"ip": "from this address", "user": "for this account", "email": "for this email"}


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def _email_key(email: str) -> str:
    """Emails are hashed in keys, so Redis holds no addresses."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class RateLimiter:
    def __init__(self, config: SecurityConfig, store: CounterStore) -> None:
        self.config = config
        self.store = store

    async def check(self, action: str, scope: str, identity: object, cost: int = 1) -> None:
        """Counts a request as `cost` hits (an arena of N models starts N runs); raises RateLimited once the
        (action, scope) rule's window is full."""
        rule: RateRule | None = self.config.rate_limits.get((action, scope))
        if rule is None:
            return
        count, left = await self.store.hit(f"{action}:{scope}:{identity}", rule.seconds, cost)
        if count > rule.count:
            retry = _retry_after(left)
            raise RateLimited(
                f"Too many {action.replace('_', ' ')} requests {_SCOPE_WORDS.get(scope, '')}; try again in {retry} s.",
                retryAfterSeconds=retry,
                limit=rule.count,
                windowSeconds=rule.seconds,
            )

    async def spend(self, scope: str, identity: object, cost: int) -> None:
        """Charges an operation's estimated cost to the query-cost budget of (scope, identity); raises
        RateLimited once the window's budget is spent."""
        rule: RateRule | None = self.config.rate_limits.get(("query_cost", scope))
        if rule is None:
            return
        spent, left = await self.store.hit(f"query_cost:{scope}:{identity}", rule.seconds, max(1, cost))
        if spent > rule.count:
            retry = _retry_after(left)
            raise RateLimited(
                f"The query budget {_SCOPE_WORDS.get(scope, '')} ({rule.count:,} points per {rule.seconds:g} s) "
                f"is spent; try again in {retry} s.",
                retryAfterSeconds=retry,
                limit=rule.count,
                windowSeconds=rule.seconds,
                cost=cost,
            )

    # Failed logins: a growing lockout per email.
    async def check_login_lockout(self, email: str) -> None:
        left = await self.store.locked_for("login_failures:" + _email_key(email))
        if left > 0:
            retry = _retry_after(left)
            raise RateLimited(
                f"Too many failed logins for this email; try again in {retry} s.", retryAfterSeconds=retry
            )

    async def login_failed(self, email: str) -> None:
        key = "login_failures:" + _email_key(email)
        failures, _ = await self.store.hit(key, self.config.login_failure_window_seconds)
        extra = failures - self.config.login_free_failures
        if extra > 0:
            seconds = min(
                self.config.login_lockout_max_seconds, self.config.login_lockout_base_seconds * 2 ** min(extra - 1, 30)
            )
            await self.store.lock(key, seconds)

    async def login_succeeded(self, email: str) -> None:
        await self.store.delete("login_failures:" + _email_key(email))


def connection_address(request: object) -> str:
    """The client's address: the connecting one, or what a proxy listed in AIBT_FORWARDED_ALLOW_IPS says
    (graphql_api/app.py believes X-Forwarded-For from those proxies only)."""
    client = getattr(request, "client", None)
    return client.host if client is not None else "unknown"


def client_address(context: RequestContext) -> str:
    return connection_address(context.request)


def _set_retry_after(context: RequestContext, error: RateLimited) -> None:
    headers = getattr(context.response, "headers", None)
    if headers is not None:
        headers["Retry-After"] = str(error.extensions["retryAfterSeconds"])


async def enforce(
    info: AppInfo, action: str, *, user_id: int | None = None, email: str | None = None, cost: int = 1
) -> None:
    """Applies the action's per-address rule and, given a user or email, its per-user or per-email rule;
    the request counts as `cost` requests."""
    context = info.context
    security = getattr(context, "security", None)
    if security is None:
        return
    try:
        await security.limiter.check(action, "ip", client_address(context), cost)
        if user_id is not None:
            await security.limiter.check(action, "user", user_id, cost)
        if email is not None:
            await security.limiter.check(action, "email", _email_key(email))
            if action == "login":
                await security.limiter.check_login_lockout(email)
    except RateLimited as error:
        _set_retry_after(context, error)
        raise


async def spend_query_cost(context: RequestContext, cost: int) -> None:
    """Charges an operation's cost to its address's budget (the window's points, AIBT_RATE_LIMIT_QUERY_COST_IP).
    A counter store that cannot be reached does not stop queries: the budget is skipped and logged."""
    security = getattr(context, "security", None)
    if security is None:
        return
    try:
        await security.limiter.spend("ip", client_address(context), cost)
    except RateLimited as error:
        _set_retry_after(context, error)
        raise
    except Exception as exc:  # Redis down: serving queries matters more than their budget
        logger.warning("query budget not checked: %r", exc)


async def login_failed(info: AppInfo, email: str) -> None:
    security = getattr(info.context, "security", None)
    if security is not None:
        await security.limiter.login_failed(email)


async def login_succeeded(info: AppInfo, email: str) -> None:
    security = getattr(info.context, "security", None)
    if security is not None:
        await security.limiter.login_succeeded(email)
