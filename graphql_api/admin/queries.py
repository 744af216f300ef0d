"""Admin queries: the leaderboard, counts, and the status of every moving part."""

from __future__ import annotations

import strawberry

from graphql_api.admin import service
from graphql_api.admin.types import LeaderboardEntry, SystemStats, SystemStatus
from graphql_api.context import AppInfo
from graphql_api.health import redis_status


@strawberry.type
class AdminQueries:
    @strawberry.field(description="Admin only: the best completed run of each model, ranked by totalReturn.")
    async def leaderboard(self, info: AppInfo, limit: int | None = 20) -> list[LeaderboardEntry]:
        await info.context.require_admin()
        return await service.leaderboard(limit)

    @strawberry.field(description="Admin only.")
    async def system_stats(self, info: AppInfo) -> SystemStats:
        await info.context.require_admin()
        return await service.system_stats()

    @strawberry.field(description="Admin only: it names internal addresses (tool servers) and counts.")
    async def system_status(self, info: AppInfo) -> SystemStatus:
        await info.context.require_admin()
        settings = info.context.settings
        redis = await redis_status(settings.redis_url) if settings.redis_url else None
        return await service.system_status(settings, redis)
