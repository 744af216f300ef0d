"""The admin's fetchPrices and cancelPriceFetch."""

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

    @strawberry.mutation(
        description="Admin only: stop a price fetch. A QUEUED job ends CANCELLED at once; a RUNNING one stops at its "
        "next call to Alpha Vantage (cancelRequested is true meanwhile): the symbols finished stay, the one in "
        "progress writes nothing. Either way the next fetch may start once it has ended. CONFLICT once it has ended."
    )
    async def cancel_price_fetch(self, info: AppInfo, id: strawberry.ID) -> PriceFetchJob:
        await info.context.require_admin()
        return PriceFetchJob.from_row(await service.cancel_fetch(info.context.services, id))
