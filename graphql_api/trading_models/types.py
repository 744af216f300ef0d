"""GraphQL types of trading models and their parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import UNSET

from db_models import trading as db
from graphql_api.accounts.loaders import users_by_id
from graphql_api.accounts.types import User
from graphql_api.context import AppInfo
from graphql_api.ids import to_global_id


@strawberry.type
class ModelParameters:
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    max_tokens: int | None = None

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> ModelParameters:
        return cls(**{k: v for k, v in stored.items() if k in cls.__annotations__})


@strawberry.input
class ModelParametersInput:
    temperature: float | None = UNSET
    top_p: float | None = UNSET
    top_k: int | None = UNSET
    frequency_penalty: float | None = UNSET
    presence_penalty: float | None = UNSET
    max_tokens: int | None = UNSET


@strawberry.type(description="A user's AI trading configuration: which LLM trades, on what, with which rules.")
class TradingModel:
    pk: strawberry.Private[int]
    owner_id: strawberry.Private[int]
    id: strawberry.ID
    name: str
    signature: str = strawberry.field(description="Unique per owner, derived from the name, e.g. momentum-strategy-1.")
    description: str | None
    is_active: bool
    allowed_tickers: list[str]
    initial_cash: float
    ai_model: str = strawberry.field(description="An id from Query.aiModels, e.g. openai/gpt-5 or local/momentum.")
    parameters: ModelParameters
    custom_rules: str | None
    custom_instructions: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    async def owner(self, info: AppInfo) -> User:
        row = await info.context.loader(users_by_id).load(self.owner_id)
        return User.from_row(row)

    @classmethod
    def from_row(cls, row: db.TradingModel) -> TradingModel:
        return cls(
            pk=row.id,
            owner_id=row.owner_id,
            id=strawberry.ID(to_global_id("TradingModel", row.id)),
            name=row.name,
            signature=row.signature,
            description=row.description,
            is_active=row.is_active,
            allowed_tickers=list(row.allowed_tickers),
            initial_cash=float(row.initial_cash),
            ai_model=row.ai_model,
            parameters=ModelParameters.from_stored(row.parameters or {}),
            custom_rules=row.custom_rules,
            custom_instructions=row.custom_instructions,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.input
class CreateModelInput:
    name: str
    description: str | None = None
    allowed_tickers: list[str]
    initial_cash: float | None = 10000.0
    ai_model: str
    parameters: ModelParametersInput | None = None
    custom_rules: str | None = None
    custom_instructions: str | None = None


@strawberry.input
class UpdateModelInput:
    name: str | None = UNSET
    description: str | None = UNSET
    is_active: bool | None = UNSET
    allowed_tickers: list[str] | None = UNSET
    initial_cash: float | None = UNSET
    ai_model: str | None = UNSET
    parameters: ModelParametersInput | None = UNSET
    custom_rules: str | None = UNSET
    custom_instructions: str | None = UNSET


@strawberry.type
class AiModel:
    id: str
    provider: str
    local: bool = strawberry.field(description="True for the deterministic models that run with no network.")
    description: str | None
