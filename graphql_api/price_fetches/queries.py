"""Admin queries of price fetch jobs."""

from __future__ import annotations

import strawberry

from db_models.price_fetches import PriceFetchJob as PriceFetchJobRow
from graphql_api.context import AppInfo
from graphql_api.pagination import Connection, paginate
from graphql_api.price_fetches.service import get_job
from graphql_api.price_fetches.types import PriceFetchJob


@strawberry.type
class PriceFetchQueries:
    @strawberry.field(description="Admin only: price fetch jobs, newest first.")
    async def price_fetch_jobs(
        self, info: AppInfo, first: int | None = 20, after: str | None = None
    ) -> Connection[PriceFetchJob]:
        await info.context.require_admin()
        return await paginate(
            PriceFetchJobRow.all(), to_node=PriceFetchJob.from_row, first=first, after=after, descending=True
        )

    @strawberry.field(description="Admin only: one price fetch job, its progress and per-symbol results.")
    async def price_fetch_job(self, info: AppInfo, id: strawberry.ID) -> PriceFetchJob:
        await info.context.require_admin()
        return PriceFetchJob.from_row(await get_job(id))
