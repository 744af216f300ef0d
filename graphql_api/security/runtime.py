"""The security state of one running app: its limits and its rate limiter."""

from __future__ import annotations

from dataclasses import dataclass

from db_models.settings import Settings
from graphql_api.security.config import SecurityConfig, load_security_config
from graphql_api.security.rate_limits import CounterStore, MemoryCounters, RateLimiter, RedisCounters


@dataclass
class Security:
    config: SecurityConfig
    limiter: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> Security:
        config = load_security_config(settings)
        store: CounterStore = (RedisCounters(settings.redis_url, settings.redis_prefix) if settings.redis_url
                               else MemoryCounters())
        return cls(config=config, limiter=RateLimiter(config, store))

    async def close(self) -> None:
        await self.limiter.store.close()
