"""Chat queries."""

from __future__ import annotations

import strawberry

from graphql_api.chat import service
from graphql_api.chat.export import export_conversation
from graphql_api.chat.settings_service import load_settings_row, to_graphql
from graphql_api.chat.types import Conversation, ExportFormat, GlobalChatSettings
from graphql_api.context import AppInfo
from graphql_api.pagination import Connection, paginate
from graphql_api.trading_models.service import get_owned_model


@strawberry.type
class ChatQueries:
    @strawberry.field(
        description="General conversations when modelId is omitted; search matches titles and message text. "
        "archived: false (the default) lists the conversations not archived, true the archived ones, null both."
    )
    async def conversations(
        self,
        info: AppInfo,
        model_id: strawberry.ID | None = None,
        search: str | None = None,
        first: int | None = 20,
        after: str | None = None,
        archived: bool | None = False,
    ) -> Connection[Conversation]:
        user = await info.context.require_user()
        model_pk = None if model_id is None else (await get_owned_model(user, model_id)).id
        return await paginate(
            service.search_conversations(user, model_pk, search, archived),
            to_node=Conversation.from_row,
            first=first,
            after=after,
            descending=True,
        )

    @strawberry.field
    async def conversation(self, info: AppInfo, id: strawberry.ID) -> Conversation | None:
        user = await info.context.require_user()
        return Conversation.from_row(await service.get_owned_conversation(user, id))

    @strawberry.field
    async def export_conversation(
        self, info: AppInfo, id: strawberry.ID, format: ExportFormat | None = ExportFormat.MARKDOWN
    ) -> str:
        user = await info.context.require_user()
        conversation = await service.get_owned_conversation(user, id)
        return await export_conversation(conversation, (format or ExportFormat.MARKDOWN).value)

    @strawberry.field
    async def global_chat_settings(self, info: AppInfo) -> GlobalChatSettings:
        await info.context.require_user()
        return to_graphql(await load_settings_row())
