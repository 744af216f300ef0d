"""The events of a conversation's replies, published in order on the conversation's stream."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db_models.chat import ChatMessage
from tasks.events import EventBus


def conversation_stream(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


async def publish_chat_event(bus: EventBus, conversation_id: int, kind: str, **fields: Any) -> int:
    event = {"conversationId": conversation_id, "kind": kind, "at": dt.datetime.now(dt.UTC).isoformat(), **fields}
    return await bus.publish(conversation_stream(conversation_id), event)


def message_payload(row: ChatMessage) -> dict[str, Any]:
    return {
        "pk": row.id,
        "role": str(row.role),
        "content": row.content,
        "toolCalls": row.tool_calls,
        "createdAt": row.created_at.isoformat(),
        "cutShort": row.cut_short,
    }
