"""GraphQL types of trading models and their parameters."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import UNSET

if TYPE_CHECKING:
    from graphql_api.chat.types import Conversation

from db_models import chat as db_chat
from db_models import runs as db_runs
from db_models import trading as db
from db_models.costs import TradingCosts as CostsValue
from graphql_api.accounts.loaders import users_by_id
from graphql_api.accounts.types import User
from graphql_api.context import AppInfo
from graphql_api.errors import not_found
from graphql_api.ids import optional_global_id, to_global_id
from graphql_api.nodes.types import Node
from graphql_api.pagination import Connection, paginate
from graphql_api.runs.types import (
    Performance,
    Position,
    ReasoningLog,
    Run,
    RunStatus,
    logs_query,
    performance_of,
    positions_query,
)
from graphql_api.trading_models.costs import TradingCosts, TradingCostsInput
from graphql_api.trading_models.loaders import RunHeads, latest_position_by_run, run_heads_by_model


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
class TradingModel(Node):
    pk: strawberry.Private[int]
    owner_id: strawberry.Private[int]
    cash: strawberry.Private[Decimal]  # initial_cash exactly, for the figures of runs whose snapshot lacks it
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
    extra_tools: list[str] = strawberry.field(
        description="External MCP servers (systemStatus lists them) whose tools this model's runs may call. "
        "They are not bound to a run's clock: runs that have them are marked usedExternalTools."
    )
    costs: TradingCosts = strawberry.field(description="Commission, slippage and position cap; each run copies them.")
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    async def owner(self, info: AppInfo) -> User:
        row = await info.context.loader(users_by_id).load(self.owner_id)
        return User.from_row(row)

    @strawberry.field
    async def runs(
        self, first: int | None = 20, after: str | None = None, status: RunStatus | None = None
    ) -> Connection[Run]:
        query = db_runs.Run.filter(model_id=self.pk)
        if status is not None:
            query = query.filter(status=status)
        return await paginate(query, to_node=Run.from_row, first=first, after=after, descending=True)

    async def _heads(self, info: AppInfo) -> RunHeads:
        return await info.context.loader(run_heads_by_model).load(self.pk)

    @strawberry.field
    async def latest_run(self, info: AppInfo) -> Run | None:
        row = (await self._heads(info)).latest
        return None if row is None else Run.from_row(row)

    async def _run_id(self, info: AppInfo, run_id: strawberry.ID | None) -> int | None:
        """The named run of this model, or its latest run; NOT_FOUND for another model's run."""
        if run_id is None:
            latest = (await self._heads(info)).latest
            return None if latest is None else latest.id
        pk = optional_global_id("Run", run_id, kind="run")
        if not await db_runs.Run.exists(id=pk, model_id=self.pk):
            raise not_found("run", run_id)
        return pk

    @strawberry.field(description="Actions of one run, or of the latest run when runId is omitted.")
    async def positions(
        self,
        info: AppInfo,
        run_id: strawberry.ID | None = None,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
        first: int | None = 100,
        after: str | None = None,
    ) -> Connection[Position]:
        pk = await self._run_id(info, run_id)
        return await paginate(
            positions_query(pk or 0, from_, to), to_node=Position.from_row, first=first, after=after, key="action_id"
        )

    @strawberry.field
    async def latest_position(self, info: AppInfo) -> Position | None:
        latest = (await self._heads(info)).latest
        if latest is None:
            return None
        row = await info.context.loader(latest_position_by_run).load(latest.id)
        return None if row is None else Position.from_row(row)

    @strawberry.field
    async def logs(
        self,
        info: AppInfo,
        run_id: strawberry.ID | None = None,
        date: date | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[ReasoningLog]:
        pk = await self._run_id(info, run_id)
        return await paginate(logs_query(pk or 0, date), to_node=ReasoningLog.from_row, first=first, after=after)

    @strawberry.field
    async def conversations(
        self, info: AppInfo, first: int | None = 20, after: str | None = None
    ) -> Connection[Annotated[Conversation, strawberry.lazy("graphql_api.chat.types")]]:
        """The caller's own conversations about this model (an admin browsing models sees none of others')."""
        # Conversation's module imports this one: the class is looked up when the field first resolves.
        from graphql_api.chat.types import Conversation

        user = await info.context.require_user()
        query = db_chat.Conversation.filter(model_id=self.pk, user_id=user.id)
        return await paginate(query, to_node=Conversation.from_row, first=first, after=after, descending=True)

    @strawberry.field(description="Metrics of one run, or of the latest completed run; null when there is none.")
    async def performance(self, info: AppInfo, run_id: strawberry.ID | None = None) -> Performance | None:
        if run_id is None:
            row = (await self._heads(info)).latest_completed
        else:
            row = await db_runs.Run.get_or_none(id=await self._run_id(info, run_id))
        return None if row is None else await performance_of(info, row, model_cash=self.cash)

    @classmethod
    def from_row(cls, row: db.TradingModel) -> TradingModel:
        return cls(
            pk=row.id,
            owner_id=row.owner_id,
            cash=Decimal(str(row.initial_cash)),
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
            extra_tools=list(row.extra_tools or []),
            costs=TradingCosts.from_costs(CostsValue.of_model(row)),
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
    extra_tools: list[str] | None = strawberry.field(
        default=None, description="Names of configured external MCP servers to give this model's runs."
    )
    costs: TradingCostsInput | None = strawberry.field(default=None, description="Omitted: no costs, no cap.")


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
    extra_tools: list[str] | None = UNSET
    costs: TradingCostsInput | None = UNSET


@strawberry.type
class AiModel:
    id: str
    provider: str
    local: bool = strawberry.field(description="True for the deterministic models that run with no network.")
    description: str | None
