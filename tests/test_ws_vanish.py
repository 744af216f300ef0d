"""A websocket client that vanishes mid-subscription (TCP gone, no complete, no close frame) costs the API
nothing afterwards: over 1,000 connect-subscribe-drop cycles, its asyncio tasks and its memory stay flat.

The API runs in this test's event loop (the server_url fixture), so asyncio.all_tasks() and tracemalloc
see the server's own tasks and allocations directly.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc

import pytest

from tests.support.chat_helpers import CHAT_EVENTS, follow_chat
from tests.support.graphql_client import ws_connect

# The websocket machinery alone: the same on either database, so it runs in one pass.
pytestmark = pytest.mark.database_independent

CREATE = "mutation { createConversation { id } }"
SEND = "mutation($id: ID!, $c: String!) { sendMessage(conversationId: $id, content: $c) { id } }"
CYCLES, WARM_UP, AT_ONCE = 1_000, 100, 1


async def connect_subscribe_vanish(ws_url: str, token: str, conversation: str) -> None:
    """Subscribes, waits for the first event (the subscription is live on the server), then drops the TCP
    connection without a word of graphql-transport-ws or a websocket close frame."""
    socket = await ws_connect(ws_url, {"authorization": f"Bearer {token}"})
    assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"
    await socket.send(
        json.dumps(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": CHAT_EVENTS, "variables": {"id": conversation, "after": 0}},
            }
        )
    )
    message = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert message["type"] == "next" and message["payload"]["data"]["chatEvents"]["seq"] == 1, message
    socket.transport.abort()
    await asyncio.gather(socket.wait_closed(), return_exceptions=True)


async def cycles(ws_url: str, token: str, conversation: str, count: int) -> None:
    for start in range(0, count, AT_ONCE):
        await asyncio.gather(
            *(connect_subscribe_vanish(ws_url, token, conversation) for _ in range(min(AT_ONCE, count - start)))
        )


async def settled_tasks(baseline: int | None = None, timeout: float = 10) -> int:
    """The number of tasks once the server has noticed every dropped connection (or after timeout)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await asyncio.sleep(0.2)
        count = len(asyncio.all_tasks())
        if baseline is None or count <= baseline or asyncio.get_running_loop().time() > deadline:
            return count


async def test_vanished_websocket_clients_leave_no_tasks_and_no_memory_behind(api, ws_url, user):
    conversation = (await api.data(CREATE, token=user.token))["createConversation"]["id"]
    events, error = await follow_chat(
        ws_url,
        user.token,
        conversation,
        on_open=lambda: api.data(SEND, {"id": conversation, "c": "list my models"}, token=user.token),
    )
    assert error is None and events

    await cycles(ws_url, user.token, conversation, WARM_UP)  # imports, caches and pools reach their size
    gc.collect()
    tasks_before = await settled_tasks()
    tracemalloc.start(1)
    try:
        gc.collect()
        memory_before = tracemalloc.get_traced_memory()[0]
        await cycles(ws_url, user.token, conversation, CYCLES)
        tasks_after = await settled_tasks(tasks_before)
        gc.collect()
        memory_after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()

    growth = memory_after - memory_before
    print(
        f"\n{CYCLES} vanished clients: tasks {tasks_before} -> {tasks_after}; "
        f"traced memory {memory_before / 1e6:.2f} MB -> {memory_after / 1e6:.2f} MB "
        f"({growth / CYCLES:.0f} bytes per cycle)"
    )
    assert tasks_after <= tasks_before, "subscription tasks outlived their connections"
    # A leaked subscription (its task, generator, queue, listener and connection state) would cost tens of
    # KB a cycle; what is left (a few hundred bytes a cycle, measured) is far below that.
    assert growth < CYCLES * 1024, f"memory grew by {growth} bytes over {CYCLES} cycles"
