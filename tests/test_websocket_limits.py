"""Websockets against malformed and oversized frames, and against clients that open too many: over real
sockets, each is closed or refused with a code and nothing crashes the handler."""

from __future__ import annotations

import asyncio
import gc
import json
import logging

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from graphql_api.context import RequestContext
from tests.support.graphql_client import ws_connect
from tests.support.ws_session import acked, next_message, subscribe

pytestmark = pytest.mark.timeout(60)


async def _closed_with(socket, timeout: float = 5) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), timeout=timeout)
    return closed.value.rcvd.code if closed.value.rcvd else 1006


@pytest.mark.parametrize(
    "frame",
    [
        "[]",
        '["subscribe"]',
        '"subscribe"',
        "5",
        "null",
        '{"type": 5}',
        '{"id": "1", "type": "subscribe", "payload": null}',
        '{"id": "1", "type": "subscribe", "payload": "x"}',
        '{"id": "1", "type": "subscribe", "payload": {"query": 5}}',
        '{"id": "1", "type": "subscribe", "payload": {"query": ["{ me { id } }"]}}',
        '{"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }", "variables": "x"}}',
        '{"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }", "operationName": 5}}',
        '{"id": 1, "type": "subscribe", "payload": {"query": "{ me { id } }"}}',
        '{"type": "subscribe", "payload": {"query": "{ me { id } }"}}',
        '{"id": "' + "x" * 200 + '", "type": "subscribe", "payload": {"query": "{ me { id } }"}}',
        '{"id": ["1"], "type": "complete"}',
        '{"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }", "variables": {"a": "\\ud800"}}}',
        '{"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }", "variables": {"a": "\\u0000"}}}',
        "{not json",
    ],
)
async def test_a_malformed_frame_closes_the_socket_with_4400_and_logs_no_crash(ws_url, user, frame, caplog):
    socket = await acked(ws_url, user.token)
    with caplog.at_level(logging.ERROR):
        await socket.send(frame)
        assert await _closed_with(socket) == 4400
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


async def test_a_binary_frame_closes_the_socket_with_4400(ws_url, user):
    socket = await acked(ws_url, user.token)
    await socket.send(b'{"type": "ping"}')
    assert await _closed_with(socket) == 4400


async def test_a_frame_over_the_request_limit_is_closed_with_1009(ws_url, user, limits):
    limits(max_request_bytes=10_000)
    socket = await acked(ws_url, user.token)
    query = "{ me { id } }" + " " * 20_000
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
    assert await _closed_with(socket) == 1009


async def test_a_sixteen_mebibyte_frame_is_refused_by_the_server_before_it_is_read_whole(ws_url, user):
    socket = await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"], max_size=None)
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {user.token}"}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    with pytest.raises(ConnectionClosed):
        await socket.send("x" * (16 * 1024 * 1024))
        await asyncio.wait_for(socket.recv(), 5)
    assert socket.close_code == 1009


async def test_a_connection_init_payload_over_the_limit_is_closed_with_4400(ws_url, user, app):
    limit = app.state.security.config.ws_max_init_bytes
    socket = await ws_connect(ws_url, {"authorization": f"Bearer {user.token}", "padding": "x" * limit})
    assert await _closed_with(socket) == 4400


async def test_only_the_authorization_of_connection_init_is_kept(ws_url, user):
    marker = "kept-for-nothing-" * 50
    socket = await ws_connect(ws_url, {"authorization": f"Bearer {user.token}", "junk": marker})
    try:
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        contexts = [o for o in gc.get_objects() if type(o) is RequestContext and o.connection_params]
        assert contexts, "the open connection's context should be found"
        assert all(set(context.connection_params) == {"authorization"} for context in contexts)
        assert not any(marker in json.dumps(context.connection_params) for context in contexts)
    finally:
        await socket.close()


async def test_a_user_may_hold_only_so_many_sockets(ws_url, signup, limits):
    limits(ws_max_connections_per_user=2)
    account, other = await signup("sockets"), await signup("neighbour")
    first, second = await acked(ws_url, account.token), await acked(ws_url, account.token)
    third = await ws_connect(ws_url, {"authorization": f"Bearer {account.token}"})
    assert await _closed_with(third) == 4429
    # Another user is not affected, and closing a socket frees its place.
    await (await acked(ws_url, other.token)).close()
    await first.close()
    await asyncio.sleep(0.2)
    await (await acked(ws_url, account.token)).close()
    await second.close()


async def test_an_address_may_hold_only_so_many_sockets_and_the_next_handshake_gets_429(ws_url, user, limits):
    limits(ws_max_connections_per_address=2)
    held = [await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) for _ in range(2)]
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"])
    assert refused.value.response.status_code == 429
    error = json.loads(refused.value.response.body)["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["maxConnections"] == 2
    await held[0].close()
    await asyncio.sleep(0.2)
    again = await acked(ws_url, user.token)
    await again.close()
    await held[1].close()


async def test_a_response_over_the_size_limit_is_replaced_by_a_coded_error(ws_url, user, limits):
    limits(max_response_bytes=200)
    socket = await acked(ws_url, user.token)
    try:
        await subscribe(socket, "small", "{ me { id } }")
        assert (await next_message(socket))["payload"]["data"]["me"]["id"] == user.id
        await next_message(socket)  # complete
        await subscribe(socket, "big", "{ " + " ".join(f"a{i}: me {{ id email role }}" for i in range(10)) + " }")
        message = await next_message(socket)
        assert message["payload"]["data"] is None
        error = message["payload"]["errors"][0]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX" and error["extensions"]["maxResponseBytes"] == 200
    finally:
        await socket.close()
