"""GraphQL types of conversations, their messages, their events and the global chat settings."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from db_models import chat as db
from db_models.runs import Run as RunRow
from graphql_api.context import AppInfo
from graphql_api.ids import to_global_id
from graphql_api.pagination import Connection, paginate_backward
from graphql_api.trading_models.types import ModelParameters, ModelParametersInput

if TYPE_CHECKING:
    from graphql_api.runs.types import Run
    from graphql_api.trading_models.types import TradingModel

MessageRole = strawberry.enum(db.MessageRole)


@strawberry.enum
class ExportFormat(Enum):
    MARKDOWN = "MARKDOWN"
    JSON = "JSON"


@strawberry.enum
class ChatEventKind(Enum):
    TOKEN = "TOKEN"
    TOOL_START = "TOOL_START"
    TOOL_END = "TOOL_END"
    TITLE = "TITLE"
    COMPLETE = "COMPLETE"
    ERROR = "ERROR"


@strawberry.type
class ChatMessage:
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
    def from_event(cls, data: dict[str, Any]) -> ChatMessage:
        return cls(
            id=strawberry.ID(to_global_id("ChatMessage", data["pk"])),
            role=db.MessageRole(data["role"]),
            content=data["content"],
            tool_calls=data.get("toolCalls"),
            created_at=dt.datetime.fromisoformat(data["createdAt"]),
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
class Conversation:
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
    async def model(
        self, info: AppInfo
    ) -> Annotated[TradingModel, strawberry.lazy("graphql_api.trading_models.types")] | None:
        from graphql_api.trading_models.loaders import models_by_id
        from graphql_api.trading_models.types import TradingModel

        if self.row.model_id is None:
            return None
        return TradingModel.from_row(await info.context.loader(models_by_id).load(self.row.model_id))

    @strawberry.field
    async def run(self) -> Annotated[Run, strawberry.lazy("graphql_api.runs.types")] | None:
        from graphql_api.runs.types import Run

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
    def from_event(cls, event: dict[str, Any]) -> ChatEvent:
        message = event.get("message")
        return cls(
            seq=event["seq"],
            conversation_id=strawberry.ID(to_global_id("Conversation", event["conversationId"])),
            kind=ChatEventKind(event["kind"]),
            token=event.get("token"),
            tool=event.get("tool"),
            tool_input=event.get("toolInput"),
            tool_output=event.get("toolOutput"),
            message=None if message is None else ChatMessage.from_event(message),
            title=event.get("title"),
            error=event.get("error"),
            at=dt.datetime.fromisoformat(event["at"]),
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
