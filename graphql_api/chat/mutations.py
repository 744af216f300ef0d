"""Chat mutations."""

from __future__ import annotations

import strawberry

from graphql_api.chat import service
from graphql_api.chat.settings_service import to_graphql, update_settings
from graphql_api.chat.types import ChatMessage, Conversation, GlobalChatSettings, GlobalChatSettingsInput
from graphql_api.context import AppInfo
from graphql_api.security import rate_limits


@strawberry.type
class ChatMutations:
    @strawberry.mutation
    async def create_conversation(
        self, info: AppInfo, model_id: strawberry.ID | None = None, run_id: strawberry.ID | None = None
    ) -> Conversation:
        user = await info.context.require_user()
        return Conversation.from_row(await service.create_conversation(user, model_id, run_id))

    @strawberry.mutation
    async def resume_conversation(self, info: AppInfo, id: strawberry.ID) -> Conversation:
        user = await info.context.require_user()
        return Conversation.from_row(await service.resume_conversation(user, id))

    @strawberry.mutation
    async def rename_conversation(self, info: AppInfo, id: strawberry.ID, title: str) -> Conversation:
        user = await info.context.require_user()
        return Conversation.from_row(await service.rename_conversation(user, id, title))

    @strawberry.mutation(description="Moves the conversation out of the default list; it stays readable.")
    async def archive_conversation(self, info: AppInfo, id: strawberry.ID) -> Conversation:
        user = await info.context.require_user()
        return Conversation.from_row(await service.set_archived(user, id, True))

    @strawberry.mutation
    async def unarchive_conversation(self, info: AppInfo, id: strawberry.ID) -> Conversation:
        user = await info.context.require_user()
        return Conversation.from_row(await service.set_archived(user, id, False))

    @strawberry.mutation
    async def delete_conversation(self, info: AppInfo, id: strawberry.ID) -> bool:
        user = await info.context.require_user()
        await service.delete_conversation(info.context.services, user, id)
        return True

    @strawberry.mutation(
        description="Stores the user's message and starts the assistant's reply, which streams on chatEvents."
    )
    async def send_message(self, info: AppInfo, conversation_id: strawberry.ID, content: str) -> ChatMessage:
        user = await info.context.require_user()
        await rate_limits.enforce(info, "send_message", user_id=user.id)
        return ChatMessage.from_row(await service.send_message(info.context.services, user, conversation_id, content))

    @strawberry.mutation
    async def cancel_reply(self, info: AppInfo, conversation_id: strawberry.ID) -> bool:
        user = await info.context.require_user()
        return await service.cancel_reply(user, conversation_id)

    @strawberry.mutation(description="Admin only.")
    async def update_global_chat_settings(self, info: AppInfo, input: GlobalChatSettingsInput) -> GlobalChatSettings:
        await info.context.require_admin()
        return to_graphql(await update_settings(input))
