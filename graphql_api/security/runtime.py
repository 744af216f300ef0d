"""The security state of one running app: its limits, its rate limiter, its watch over streamed tokens and
its count of open websockets."""

from __future__ import annotations

from dataclasses import dataclass, field

from db_models.settings import Settings
from graphql_api.security.config import SecurityConfig, load_security_config
from graphql_api.security.rate_limits import CounterStore, MemoryCounters, RateLimiter, RedisCounters
from graphql_api.security.socket_counts import SocketCounts
from graphql_api.security.token_watch import TokenWatch


@dataclass
class Security:
    config: SecurityConfig
    limiter: RateLimiter
    token_watch: TokenWatch = field(init=False)
    sockets: SocketCounts = field(default_factory=SocketCounts)

    def __post_init__(self) -> None:
        self.token_watch = TokenWatch(lambda: max(0.05, self.config.ws_auth_recheck_seconds))

    @classmethod
    def from_settings(cls, settings: Settings) -> Security:
        config = load_security_config(settings)
        store: CounterStore = (
            RedisCounters(settings.redis_url, settings.redis_prefix) if settings.redis_url else MemoryCounters()
        )
        return cls(config=config, limiter=RateLimiter(config, store))

    async def close(self) -> None:
        await self.token_watch.close()
        await self.limiter.store.close()
