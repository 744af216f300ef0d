"""Websocket connections authenticate in connection_init, as graphql-transport-ws prescribes, and every
operation on an open connection is authorised again when it starts."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import jwt
import pytest
from websockets.exceptions import ConnectionClosed

from db_models.accounts import Role, User
from db_models.trading import TradingModel
from tests.support.graphql_client import ws_connect
from tests.support.ws_session import acked, next_message, subscribe


async def _closed_with(socket) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), timeout=5)
    return closed.value.rcvd.code


async def test_a_valid_token_is_acknowledged(ws_url, user):
    socket = await ws_connect(ws_url, {"authorization": f"Bearer {user.token}"})
    try:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
        assert message["type"] == "connection_ack"
    finally:
        await socket.close()


@pytest.mark.parametrize(
    "payload",
    [
        {"authorization": "Bearer not-a-token"},
        {"authorization": "garbage"},
        {},
    ],
)
async def test_connection_init_without_a_valid_token_is_refused(ws_url, payload):
    socket = await ws_connect(ws_url, payload)
    assert await _closed_with(socket) == 4403


async def test_connection_init_with_a_revoked_token_is_refused(api, ws_url, signup):
    account = await signup("revoked")
    await api.data("mutation { logout }", token=account.token)
    socket = await ws_connect(ws_url, {"authorization": f"Bearer {account.token}"})
    assert await _closed_with(socket) == 4403


# --- every operation is authorised as of when it starts -------------------------------------------------------


async def test_after_logout_the_open_socket_runs_no_query_or_mutation_and_closes_with_4403(api, ws_url, signup):
    account = await signup("leaving")
    socket = await acked(ws_url, account.token)
    await subscribe(socket, "before", "{ models { totalCount } }")
    assert (await next_message(socket))["payload"]["data"]["models"]["totalCount"] == 0
    assert (await next_message(socket))["type"] == "complete"
    assert await api.data("mutation { logout }", token=account.token)
    create = (
        'mutation { createModel(input: {name: "after", allowedTickers: ["AAPL"], aiModel: "local/momentum"}) { id } }'
    )
    await subscribe(socket, "after", create)
    assert await _closed_with(socket) == 4403
    assert not await TradingModel.filter(owner__email=account.email).exists()


async def test_a_token_that_expires_while_the_socket_is_open_stops_its_operations(ws_url, user, settings):
    user_id = (await User.get(email=user.email)).id
    now = int(time.time())
    claims = {"sub": str(user_id), "iat": now, "exp": now + 2, "jti": uuid.uuid4().hex, "iss": settings.jwt_issuer}
    socket = await acked(ws_url, jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))
    await subscribe(socket, "early", "{ me { id } }")
    assert (await next_message(socket))["payload"]["data"]["me"]["id"] == user.id
    assert (await next_message(socket))["type"] == "complete"
    await asyncio.sleep(2.5)
    await subscribe(socket, "late", "{ me { id } }")
    assert await _closed_with(socket) == 4403


async def test_a_role_changed_while_the_socket_is_open_applies_to_its_next_operation(ws_url, admin):
    socket = await acked(ws_url, admin.token)
    try:
        await subscribe(socket, "1", "{ users(first: 1) { totalCount } }")
        assert (await next_message(socket))["payload"]["data"]["users"]["totalCount"] >= 1
        await next_message(socket)  # complete
        await User.filter(email=admin.email).update(role=Role.USER)
        await subscribe(socket, "2", "{ users(first: 1) { totalCount } }")
        message = await next_message(socket)
        assert message["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    finally:
        await socket.close()


async def test_several_root_fields_over_a_socket_are_each_answered(ws_url, user):
    socket = await acked(ws_url, user.token)
    try:
        await subscribe(socket, "1", "{ a: me { id } b: me { id } models { totalCount } conversations { totalCount } }")
        payload = (await next_message(socket))["payload"]
        assert not payload.get("errors"), payload
        assert payload["data"]["a"] == payload["data"]["b"] == {"id": user.id}
    finally:
        await socket.close()


@pytest.mark.parametrize("claims", [{"sub": "9" * 2000}, {"exp": "tomorrow"}, {"jti": 7}, {"exp": 10**30}])
async def test_connection_init_with_a_signed_token_of_odd_claims_is_refused_with_4403(ws_url, user, settings, claims):
    now = int(time.time())
    user_id = (await User.get(email=user.email)).id
    base = {"sub": str(user_id), "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex, "iss": settings.jwt_issuer}
    token = jwt.api_jws.encode(json.dumps({**base, **claims}).encode(), settings.jwt_secret, algorithm="HS256")
    socket = await ws_connect(ws_url, {"authorization": f"Bearer {token}"})
    assert await _closed_with(socket) == 4403
