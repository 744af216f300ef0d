"""Trading-model mutations."""

from __future__ import annotations

import strawberry

from graphql_api.context import AppInfo
from graphql_api.trading_models import service
from graphql_api.trading_models.types import CreateModelInput, TradingModel, UpdateModelInput


@strawberry.type
class TradingModelMutations:
    @strawberry.mutation
    async def create_model(self, info: AppInfo, input: CreateModelInput) -> TradingModel:
        user = await info.context.require_user()
        return TradingModel.from_row(await service.create_model(user, input))

    @strawberry.mutation
    async def update_model(self, info: AppInfo, id: strawberry.ID, input: UpdateModelInput) -> TradingModel:
        user = await info.context.require_user()
        return TradingModel.from_row(await service.update_model(user, id, input))

    @strawberry.mutation
    async def delete_model(self, info: AppInfo, id: strawberry.ID) -> bool:
        user = await info.context.require_user()
        await service.delete_model(user, id)
        return True
