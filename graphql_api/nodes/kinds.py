"""Every type that is a Node, by the type name its IDs carry: its table, who may see which rows, and how a row
becomes the GraphQL object. Who may see what is each domain's own rule (its service's scope), not restated here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tortoise.models import Model

from db_models import accounts as account_rows
from db_models import arenas, chat, price_fetches, runs, trading
from graphql_api.accounts.service import user_scope
from graphql_api.accounts.types import User
from graphql_api.arenas.service import arena_scope
from graphql_api.arenas.types import Arena
from graphql_api.chat.service import conversation_scope, message_scope
from graphql_api.chat.types import ChatMessage, Conversation
from graphql_api.nodes.types import Node
from graphql_api.price_fetches.types import PriceFetchJob
from graphql_api.runs.service import run_row_scope, run_scope
from graphql_api.runs.types import Position, ReasoningLog, Run
from graphql_api.trading_models.service import model_scope
from graphql_api.trading_models.types import TradingModel

Scope = Callable[[account_rows.User], dict[str, Any]]


def _every_row(_viewer: account_rows.User) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class NodeKind:
    model: type[Model]
    noun: str  # as the type's own root field names it in NOT_FOUND
    scope: Scope  # the filter that keeps the caller to the rows they may see
    to_node: Callable[[Any], Node]
    admin_only: bool = False  # FORBIDDEN to anyone else, before any row is read


NODE_KINDS: dict[str, NodeKind] = {
    "User": NodeKind(account_rows.User, "user", user_scope, User.from_row),
    "TradingModel": NodeKind(trading.TradingModel, "trading model", model_scope, TradingModel.from_row),
    "Run": NodeKind(runs.Run, "run", run_scope, Run.from_row),
    "Position": NodeKind(runs.Position, "position", run_row_scope, Position.from_row),
    "ReasoningLog": NodeKind(runs.ReasoningLog, "reasoning log", run_row_scope, ReasoningLog.from_row),
    "Conversation": NodeKind(chat.Conversation, "conversation", conversation_scope, Conversation.from_row),
    "ChatMessage": NodeKind(chat.ChatMessage, "chat message", message_scope, ChatMessage.from_row),
    "Arena": NodeKind(arenas.Arena, "arena", arena_scope, Arena.from_row),
    "PriceFetchJob": NodeKind(
        price_fetches.PriceFetchJob, "price fetch job", _every_row, PriceFetchJob.from_row, admin_only=True
    ),
}
