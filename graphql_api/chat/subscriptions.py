"""chatEvents: replay after afterSeq, then every event of the conversation's replies as they happen."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator

import strawberry

from graphql_api.chat.service import get_owned_conversation
from graphql_api.chat.types import ChatEvent
from graphql_api.context import AppInfo
from graphql_api.errors import BadUserInput, UnreadableEvent
from graphql_api.metrics import active_subscription
from graphql_api.security.ws import while_authorised
from tasks.chat_events import follow_chat_events
from tasks.event_contract import EventContractError

logger = logging.getLogger("aibt.chat")


@strawberry.type
class ChatSubscriptions:
    @strawberry.subscription(
        description="Live events of a conversation's replies. With afterSeq, replays as runEvents does."
    )
    async def chat_events(
        self, info: AppInfo, conversation_id: strawberry.ID, after_seq: int | None = None
    ) -> AsyncGenerator[ChatEvent, None]:
        user = await info.context.require_user()
        conversation = await get_owned_conversation(user, conversation_id)
        if after_seq is not None and after_seq < 0:
            raise BadUserInput("afterSeq must be 0 or more.", field="afterSeq")
        bus = info.context.services.require_bus()
        with active_subscription():
            try:
                async for event in while_authorised(
                    info.context, follow_chat_events(bus, conversation.id, after_seq or 0)
                ):
                    yield ChatEvent.from_event(event)
            except EventContractError as exc:
                logger.error(
                    "conversation %s: an event on its stream breaks the event contract: %s", conversation.id, exc
                )
                raise UnreadableEvent(f"An event of this conversation cannot be read: {exc}") from exc
