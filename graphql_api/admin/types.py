"""GraphQL types of the admin views."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from graphql_api.accounts.types import User

if TYPE_CHECKING:
    from graphql_api.runs.types import Run
    from graphql_api.trading_models.types import TradingModel


@strawberry.type
class LeaderboardEntry:
    rank: int
    model: Annotated[TradingModel, strawberry.lazy("graphql_api.trading_models.types")]
    run: Annotated[Run, strawberry.lazy("graphql_api.runs.types")]
    owner: User
    total_return: float
    sharpe_ratio: float | None
    max_drawdown: float


@strawberry.type
class SystemStats:
    users: int
    models: int
    runs: int
    runs_by_status: JSON
    conversations: int
    messages: int


@strawberry.type
class ToolServerStatus:
    name: str
    url: str
    healthy: bool
    tools: list[str]
    external: bool = strawberry.field(
        description="One of the deployment's extra MCP servers (AIBT_EXTRA_MCP_SERVERS), not bound to a run's clock; "
        "a model's extraTools name it, and its runs call its tools as <name>_<tool>."
    )


@strawberry.type
class SystemStatus:
    database: str
    broker: str
    pubsub: str
    tool_servers: list[ToolServerStatus]
    workers: int
    queued_runs: int
    running_runs: int
