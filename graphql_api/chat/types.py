"""GraphQL types of conversations, their messages, their events and the global chat settings."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from db_models import chat as db
from db_models.runs import Run as RunRow
from graphql_api.context import AppInfo
from graphql_api.ids import to_global_id
from graphql_api.nodes.types import Node
from graphql_api.pagination import Connection, paginate_backward
from graphql_api.runs.types import Run
from graphql_api.trading_models.loaders import models_by_id
from graphql_api.trading_models.types import ModelParameters, ModelParametersInput, TradingModel
from tasks import event_contract as contract

MessageRole = strawberry.enum(db.MessageRole)
ChatEventKind = strawberry.enum(contract.ChatEventKind)


@strawberry.enum
class ExportFormat(Enum):
    MARKDOWN = "MARKDOWN"
    JSON = "JSON"


@strawberry.type
class ChatMessage(Node):
    id: strawberry.ID
    role: MessageRole
    content: str
    tool_calls: JSON | None
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: db.ChatMessage) -> ChatMessage:
        return cls(
            id=strawberry.ID(to_global_id("ChatMessage", row.id)),
            role=row.role,
            content=row.content,
            tool_calls=row.tool_calls,
            created_at=row.created_at,
        )

    @classmethod
    def from_event(cls, message: contract.ChatMessage) -> ChatMessage:
        return cls(
            id=strawberry.ID(to_global_id("ChatMessage", message.pk)),
            role=message.role,
            content=message.content,
            tool_calls=message.tool_calls,
            created_at=message.created_at,
        )


async def message_counts(conversation_ids: list[int]) -> list[int]:
    from tortoise.functions import Count

    rows = await (
        db.ChatMessage.filter(conversation_id__in=list(set(conversation_ids)))
        .annotate(n=Count("id"))
        .group_by("conversation_id")
        .values_list("conversation_id", "n")
    )
    counts = dict(rows)
    return [counts.get(i, 0) for i in conversation_ids]


@strawberry.type
class Conversation(Node):
    row: strawberry.Private[db.Conversation]
    id: strawberry.ID
    title: str
    is_active: bool
    archived: bool
    summary: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: db.Conversation) -> Conversation:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Conversation", row.id)),
            title=row.title,
            is_active=row.is_active,
            archived=row.archived,
            summary=row.summary,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field
    async def model(self, info: AppInfo) -> TradingModel | None:
        if self.row.model_id is None:
            return None
        return TradingModel.from_row(await info.context.loader(models_by_id).load(self.row.model_id))

    @strawberry.field
    async def run(self) -> Run | None:
        row = None if self.row.run_id is None else await RunRow.get_or_none(id=self.row.run_id)
        return None if row is None else Run.from_row(row)

    @strawberry.field
    async def message_count(self, info: AppInfo) -> int:
        return await info.context.loader(message_counts).load(self.row.id)

    @strawberry.field(description="The newest messages, oldest first within the page.")
    async def messages(self, last: int | None = 30, before: str | None = None) -> Connection[ChatMessage]:
        return await paginate_backward(
            db.ChatMessage.filter(conversation_id=self.row.id), to_node=ChatMessage.from_row, last=last, before=before
        )


@strawberry.type
class ChatEvent:
    seq: int = strawberry.field(description="Strictly increasing per conversation, with no gaps.")
    conversation_id: strawberry.ID
    kind: ChatEventKind
    token: str | None
    tool: str | None
    tool_input: JSON | None
    tool_output: str | None
    message: ChatMessage | None
    title: str | None
    error: str | None
    at: dt.datetime

    @classmethod
    def from_event(cls, event: contract.ChatEvent) -> ChatEvent:
        return cls(
            seq=event.published_seq(),
            conversation_id=strawberry.ID(to_global_id("Conversation", event.conversation_id)),
            kind=event.kind,
            token=event.token,
            tool=event.tool,
            tool_input=None if event.tool_input is None else dict(event.tool_input),
            tool_output=event.tool_output,
            message=None if event.message is None else ChatMessage.from_event(event.message),
            title=event.title,
            error=event.error,
            at=event.at,
        )


@strawberry.type
class GlobalChatSettings:
    chat_model: str
    instructions: str | None
    parameters: ModelParameters
    updated_at: dt.datetime | None


@strawberry.input
class GlobalChatSettingsInput:
    chat_model: str | None = strawberry.UNSET
    instructions: str | None = strawberry.UNSET
    parameters: ModelParametersInput | None = strawberry.UNSET
