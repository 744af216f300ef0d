"""Trading-model queries."""

from __future__ import annotations

import strawberry

from agents.catalog import available_models
from db_models import trading as db
from graphql_api.context import AppInfo
from graphql_api.pagination import Connection, paginate
from graphql_api.trading_models.service import get_owned_model
from graphql_api.trading_models.types import AiModel, TradingModel


@strawberry.type
class TradingModelQueries:
    @strawberry.field
    async def models(self, info: AppInfo, first: int | None = 20, after: str | None = None) -> Connection[TradingModel]:
        user = await info.context.require_user()
        return await paginate(
            db.TradingModel.filter(owner_id=user.id),
            to_node=TradingModel.from_row,
            first=first,
            after=after,
            descending=True,
        )

    @strawberry.field
    async def model(self, info: AppInfo, id: strawberry.ID) -> TradingModel | None:
        user = await info.context.require_user()
        return TradingModel.from_row(await get_owned_model(user, id))

    @strawberry.field(description="Admin only: every user's models.")
    async def all_models(
        self, info: AppInfo, first: int | None = 50, after: str | None = None
    ) -> Connection[TradingModel]:
        await info.context.require_admin()
        return await paginate(
            db.TradingModel.all(), to_node=TradingModel.from_row, first=first, after=after, descending=True
        )

    @strawberry.field
    def ai_models(self) -> list[AiModel]:
        return [
            AiModel(id=m.id, provider=m.provider, local=m.local, description=m.description) for m in available_models()
        ]
