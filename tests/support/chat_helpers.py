"""Following a conversation's chatEvents over a real websocket."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.graphql_client import follow_subscription

CHAT_EVENTS = """subscription($id: ID!, $after: Int) { chatEvents(conversationId: $id, afterSeq: $after) {
  seq conversationId kind token tool toolInput toolOutput title error at
  message { id role content toolCalls createdAt } } }"""


def completed(events: list[dict]) -> bool:
    return any(e["kind"] in ("COMPLETE", "ERROR") for e in events)


async def follow_chat(
    ws_url: str,
    token: str,
    conversation_id: str,
    *,
    after_seq: int | None = None,
    until: Callable[[list[dict]], bool] = completed,
    timeout: float = 30,
    on_open: Callable[[], object] | None = None,
) -> tuple[list[dict], dict | None]:
    """Collects chatEvents until `until(events)` holds; returns (events, error)."""
    followed = await follow_subscription(
        ws_url,
        token,
        CHAT_EVENTS,
        {"id": conversation_id, "after": after_seq},
        until=until,
        on_open=on_open,
        timeout=timeout,
    )
    return followed.events, followed.error
