"""The admin's fetchPrices."""

from __future__ import annotations

import strawberry

from graphql_api.context import AppInfo
from graphql_api.price_fetches import service
from graphql_api.price_fetches.types import FetchPricesInput, PriceFetchJob


@strawberry.type
class PriceFetchMutations:
    @strawberry.mutation(
        description="Admin only: fetch bars (and splits and dividends) from Alpha Vantage on a worker. Returns "
        "the QUEUED job at once; follow it with priceFetchEvents. Only sessions not yet stored are asked for."
    )
    async def fetch_prices(self, info: AppInfo, input: FetchPricesInput) -> PriceFetchJob:
        admin = await info.context.require_admin()
        job = await service.start_fetch(info.context.services, info.context.settings, admin, input)
        return PriceFetchJob.from_row(job)
