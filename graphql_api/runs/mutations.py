"""Run mutations: start (daily or intraday), cancel, delete."""

from __future__ import annotations

import strawberry

from graphql_api.context import AppInfo
from graphql_api.runs import service
from graphql_api.runs.types import DailyRunInput, IntradayRunInput, Run
from graphql_api.security import rate_limits
from graphql_api.trading_models.service import get_owned_model


@strawberry.type
class RunMutations:
    @strawberry.mutation(description="Creates the run (QUEUED) and hands it to a worker; returns at once.")
    async def start_daily_run(self, info: AppInfo, model_id: strawberry.ID, input: DailyRunInput) -> Run:
        user = await info.context.require_user()
        await rate_limits.enforce(info, "start_run", user_id=user.id)
        model = await get_owned_model(user, model_id)
        return Run.from_row(await service.start_daily_run(info.context.services, model, input))

    @strawberry.mutation
    async def start_intraday_run(self, info: AppInfo, model_id: strawberry.ID, input: IntradayRunInput) -> Run:
        user = await info.context.require_user()
        await rate_limits.enforce(info, "start_run", user_id=user.id)
        model = await get_owned_model(user, model_id)
        return Run.from_row(await service.start_intraday_run(info.context.services, model, input))

    @strawberry.mutation
    async def cancel_run(self, info: AppInfo, id: strawberry.ID) -> Run:
        user = await info.context.require_user()
        return Run.from_row(await service.cancel_run(info.context.services, user, id))

    @strawberry.mutation
    async def delete_run(self, info: AppInfo, id: strawberry.ID) -> bool:
        user = await info.context.require_user()
        await service.delete_run(info.context.services, user, id)
        return True
