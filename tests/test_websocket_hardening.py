"""graphql-transport-ws against hostile or careless clients, over real websockets: protocol violations
close the connection with the protocol's codes, subscriptions are capped per connection, a stream ends
once its token expires or is revoked, and errors carry a request id and nothing internal."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

import jwt
import pytest
import websockets
from tortoise import connections
from websockets.exceptions import ConnectionClosed

from db_models.accounts import User
from graphql_api.ids import parse_global_id, to_global_id
from tasks.chat_events import publish_chat_event
from tasks.event_contract import ChatEvent, ChatEventKind, RunEventKind
from tasks.run_events import publish_run_event
from tests.support.graphql_client import ws_connect
from tests.support.ws_session import acked, active_run, event_bus, next_message, quiet, subscribe

pytestmark = pytest.mark.timeout(60)

RUN_EVENTS = "subscription($id: ID!) { runEvents(runId: $id) { seq kind status } }"
CHAT_EVENTS = "subscription($id: ID!) { chatEvents(conversationId: $id) { seq kind token } }"


async def _closed_with(socket, timeout: float = 5) -> tuple[int, float]:
    """The close code, and how long the server took to close."""
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), timeout=timeout)
    return closed.value.rcvd.code, time.monotonic() - started


# --- the protocol ------------------------------------------------------------------------------------------


async def test_a_connection_without_connection_init_is_closed_with_4408(ws_url, limits):
    limits(ws_init_timeout_seconds=0.5)
    socket = await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"])
    code, waited = await _closed_with(socket)
    assert code == 4408
    assert 0.4 <= waited < 3


async def test_subscribe_before_the_ack_is_closed_with_4401(ws_url, user):
    socket = await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"])
    await subscribe(socket, "1", 'subscription { runEvents(runId: "x") { seq } }')
    assert (await _closed_with(socket))[0] == 4401


@pytest.mark.parametrize("bad", ["expired", "wrong-signature", "garbage"])
async def test_connection_init_with_a_bad_token_is_closed_with_4403(ws_url, user, settings, bad):
    now = int(time.time())
    claims = {"sub": "1", "iat": now - 100, "exp": now - 10, "jti": uuid.uuid4().hex, "iss": settings.jwt_issuer}
    token = {
        "expired": jwt.encode(claims, settings.jwt_secret, algorithm="HS256"),
        "wrong-signature": user.token[:-4] + ("AAAA" if not user.token.endswith("AAAA") else "BBBB"),
        "garbage": "x.y.z",
    }[bad]
    socket = await ws_connect(ws_url, {"authorization": f"Bearer {token}"})
    assert (await _closed_with(socket))[0] == 4403


async def test_a_second_connection_init_is_closed_with_4429(ws_url, user):
    socket = await acked(ws_url, user.token)
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {user.token}"}}))
    assert (await _closed_with(socket))[0] == 4429


async def test_a_duplicate_subscription_id_is_closed_with_4409(ws_url, user):
    _, run_id = await active_run(user)
    socket = await acked(ws_url, user.token)
    await subscribe(socket, "same", RUN_EVENTS, {"id": run_id})
    assert await quiet(socket)
    await subscribe(socket, "same", RUN_EVENTS, {"id": run_id})
    assert (await _closed_with(socket))[0] == 4409


async def test_only_the_graphql_transport_ws_protocol_is_spoken(ws_url, user):
    socket = await websockets.connect(ws_url, subprotocols=["graphql-ws"])
    assert (await _closed_with(socket))[0] == 4406


async def test_a_browser_on_another_origin_cannot_open_a_websocket(ws_url, user, server_url):
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"], origin="https://evil.example")
    assert refused.value.response.status_code == 403
    socket = await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"], origin=server_url)  # same origin
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {user.token}"}}))
    assert (await next_message(socket))["type"] == "connection_ack"
    await socket.close()


async def test_subscriptions_over_the_per_connection_cap_are_refused_until_one_ends(ws_url, user, limits):
    limits(ws_max_subscriptions=2)
    _, run_id = await active_run(user)
    socket = await acked(ws_url, user.token)
    try:
        await subscribe(socket, "a", RUN_EVENTS, {"id": run_id})
        await subscribe(socket, "b", RUN_EVENTS, {"id": run_id})
        assert await quiet(socket)
        await subscribe(socket, "c", RUN_EVENTS, {"id": run_id})
        refusal = await next_message(socket)
        assert refusal["type"] == "error" and refusal["id"] == "c"
        error = refusal["payload"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["maxSubscriptions"] == 2
        assert error["extensions"]["requestId"]
        # The connection stays usable: completing one makes room for another.
        await socket.send(json.dumps({"id": "a", "type": "complete"}))
        await asyncio.sleep(0.2)
        await subscribe(socket, "c", RUN_EVENTS, {"id": run_id})
        assert await quiet(socket)
    finally:
        await socket.close()


async def test_an_oversized_document_over_a_websocket_is_too_complex(ws_url, user, app):
    socket = await acked(ws_url, user.token)
    try:
        await subscribe(socket, "big", "{ me { " + "id " * (app.state.security.config.max_query_bytes // 3 + 1) + "} }")
        message = await next_message(socket)
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    finally:
        await socket.close()


# --- tokens that stop being valid while subscribed --------------------------------------------------------


async def _ended_unauthenticated(socket, operation_id: str, within: float) -> dict:
    """Reads until the operation's error; returns it after checking the operation then completes."""
    started = time.monotonic()
    while True:
        message = await next_message(socket, timeout=within)
        if message["type"] == "next" and message["payload"].get("errors"):
            break
    assert message["id"] == operation_id
    error = message["payload"]["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert time.monotonic() - started < within
    assert (await next_message(socket)) == {"id": operation_id, "type": "complete"}
    return error


async def test_a_run_stream_ends_when_its_token_is_revoked(api, app, ws_url, signup, limits):
    limits(ws_auth_recheck_seconds=0.3)
    account = await signup("revoked")
    run, run_id = await active_run(account)
    socket = await acked(ws_url, account.token)
    try:
        await subscribe(socket, "run", RUN_EVENTS, {"id": run_id})
        await asyncio.sleep(0.3)
        await publish_run_event(event_bus(app), run, RunEventKind.PROGRESS, message="still allowed")
        event = await next_message(socket)
        assert event["payload"]["data"]["runEvents"]["kind"] == "PROGRESS"
        assert await api.data("mutation { logout }", token=account.token)
        error = await _ended_unauthenticated(socket, "run", within=3)
        assert "revoked" in error["message"]
        # Nothing published afterwards reaches the socket.
        await publish_run_event(event_bus(app), run, RunEventKind.PROGRESS, message="too late")
        assert await quiet(socket, 0.5)
    finally:
        await socket.close()


async def test_a_chat_stream_ends_when_its_token_is_revoked(api, app, ws_url, signup, limits):
    limits(ws_auth_recheck_seconds=0.3)
    account = await signup("chatter")
    conversation = (await api.data("mutation { createConversation { id } }", token=account.token))[
        "createConversation"
    ]["id"]
    socket = await acked(ws_url, account.token)
    try:
        await subscribe(socket, "chat", CHAT_EVENTS, {"id": conversation})
        assert await quiet(socket)
        assert await api.data("mutation { logout }", token=account.token)
        await _ended_unauthenticated(socket, "chat", within=3)
    finally:
        await socket.close()


async def test_a_stream_ends_when_its_token_expires_even_with_no_events(app, ws_url, user, settings, limits):
    limits(ws_auth_recheck_seconds=60)  # expiry needs no database re-read to be noticed
    _, run_id = await active_run(user)
    user_id = (await User.get(email=user.email)).id
    now = int(time.time())
    claims = {"sub": str(user_id), "iat": now, "exp": now + 2, "jti": uuid.uuid4().hex, "iss": settings.jwt_issuer}
    socket = await acked(ws_url, jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))
    try:
        await subscribe(socket, "run", RUN_EVENTS, {"id": run_id})
        error = await _ended_unauthenticated(socket, "run", within=5)
        assert "expired" in error["message"]
    finally:
        await socket.close()


async def test_a_stream_ends_when_its_user_is_deleted(app, ws_url, signup, limits):
    limits(ws_auth_recheck_seconds=0.3)
    account = await signup("deleted")
    _, run_id = await active_run(account)
    socket = await acked(ws_url, account.token)
    try:
        await subscribe(socket, "run", RUN_EVENTS, {"id": run_id})
        assert await quiet(socket)
        await User.filter(email=account.email).delete()
        await _ended_unauthenticated(socket, "run", within=3)
    finally:
        await socket.close()


async def test_one_revoked_stream_does_not_disturb_another_connections_stream(api, app, ws_url, signup, limits):
    limits(ws_auth_recheck_seconds=0.2)
    leaving, staying = await signup("leaving"), await signup("staying")
    run, run_id = await active_run(staying)
    _, leaving_run = await active_run(leaving)
    gone, kept = await acked(ws_url, leaving.token), await acked(ws_url, staying.token)
    try:
        await subscribe(gone, "1", RUN_EVENTS, {"id": leaving_run})
        await subscribe(kept, "1", RUN_EVENTS, {"id": run_id})
        await api.data("mutation { logout }", token=leaving.token)
        await _ended_unauthenticated(gone, "1", within=3)
        await publish_run_event(event_bus(app), run, RunEventKind.PROGRESS, message="still here")
        assert (await next_message(kept))["payload"]["data"]["runEvents"]["kind"] == "PROGRESS"
    finally:
        await gone.close()
        await kept.close()


async def test_chat_events_are_delivered_while_the_token_is_valid(api, app, ws_url, user, limits):
    limits(ws_auth_recheck_seconds=0.1)
    conversation = (await api.data("mutation { createConversation { id } }", token=user.token))["createConversation"][
        "id"
    ]
    pk = parse_global_id("Conversation", conversation, kind="conversation")
    socket = await acked(ws_url, user.token)
    try:
        await subscribe(socket, "chat", CHAT_EVENTS, {"id": conversation})
        await asyncio.sleep(0.3)
        for i in range(3):
            await publish_chat_event(
                event_bus(app), ChatEvent(conversation_id=pk, kind=ChatEventKind.TOKEN, token=f"t{i}")
            )
            await asyncio.sleep(0.15)  # spans several re-checks
        tokens = [(await next_message(socket))["payload"]["data"]["chatEvents"]["token"] for _ in range(3)]
        assert tokens == ["t0", "t1", "t2"]
    finally:
        await socket.close()


# --- errors over websockets -------------------------------------------------------------------------------


async def test_errors_over_a_websocket_carry_a_code_and_the_connections_request_id(ws_url, user):
    request_id = f"ws-{uuid.uuid4().hex[:12]}"
    socket = await acked(ws_url, user.token, headers={"X-Request-ID": request_id})
    try:
        await subscribe(socket, "bad", "subscription { nosuchfield }")
        message = await next_message(socket)
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"] == {"code": "BAD_USER_INPUT", "requestId": request_id}
        await subscribe(socket, "other", RUN_EVENTS, {"id": to_global_id("Run", 987654321)})
        message = await next_message(socket)
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"] == {"code": "NOT_FOUND", "requestId": request_id}
    finally:
        await socket.close()


async def test_an_unexpected_failure_over_a_websocket_reveals_nothing_and_is_logged_with_its_request_id(
    ws_url, user, caplog
):
    request_id = f"ws-{uuid.uuid4().hex[:12]}"
    socket = await acked(ws_url, user.token, headers={"X-Request-ID": request_id})
    connection = connections.get("default")
    await connection.execute_script("ALTER TABLE trading_models RENAME TO trading_models_hidden")
    try:
        with caplog.at_level(logging.ERROR, logger="aibt.errors"):
            await subscribe(socket, "q", "{ models { totalCount } }")
            raw = await asyncio.wait_for(socket.recv(), 5)
    finally:
        await connection.execute_script("ALTER TABLE trading_models_hidden RENAME TO trading_models")
        await socket.close()
    message = json.loads(raw)
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"] == {"code": "INTERNAL", "requestId": request_id}
    for leak in (
        "trading_models",
        "select",
        "traceback",
        "/site-packages/",
        ".py",
        "operationalerror",
        "sqlite",
        "asyncpg",
    ):
        assert leak not in raw.lower(), leak
    assert any(request_id in record.getMessage() and record.exc_info for record in caplog.records)
