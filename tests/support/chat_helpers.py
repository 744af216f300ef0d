"""Following a conversation's chatEvents over a real websocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from tests.support.graphql_client import ws_connect

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
    socket = await ws_connect(ws_url, {"authorization": f"Bearer {token}"})
    events: list[dict] = []
    try:
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"
        await socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": CHAT_EVENTS, "variables": {"id": conversation_id, "after": after_seq}},
                }
            )
        )
        if on_open is not None:
            await asyncio.sleep(0.2)  # the subscription is listening
            result = on_open()
            if asyncio.iscoroutine(result):
                await result
        while not until(events):
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout))
            if message["type"] == "next":
                if message["payload"].get("errors"):
                    return events, message["payload"]["errors"][0]
                events.append(message["payload"]["data"]["chatEvents"])
            elif message["type"] == "error":
                return events, message["payload"][0]
            elif message["type"] == "complete":
                break
        return events, None
    finally:
        await socket.close()
