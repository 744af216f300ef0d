"""A conversation's events on its stream: published in order, read back as typed events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from db_models import chat as db
from tasks import event_contract as contract
from tasks.events import EventBus


def message_of(row: db.ChatMessage) -> contract.ChatMessage:
    return contract.ChatMessage(
        pk=row.id,
        role=db.MessageRole(row.role),
        content=row.content,
        tool_calls=row.tool_calls,
        created_at=row.created_at,
        cut_short=row.cut_short,
    )


async def publish_chat_event(bus: EventBus, event: contract.ChatEvent) -> int:
    """Publishes on the event's conversation stream; returns its seq."""
    return await bus.publish(event.stream, event.to_wire())


async def follow_chat_events(
    bus: EventBus, conversation_id: int, after_seq: int = 0
) -> AsyncIterator[contract.ChatEvent]:
    """The conversation's events after after_seq, replayed then live (see tasks/events.py);
    EventContractError on an event that does not follow the contract."""
    async with aclosing(bus.subscribe(contract.conversation_stream(conversation_id), after_seq)) as events:
        async for wire in events:
            yield contract.ChatEvent.from_wire(wire)
