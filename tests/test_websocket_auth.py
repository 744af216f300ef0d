"""Websocket connections authenticate in connection_init, as graphql-transport-ws prescribes."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.graphql_client import ws_connect


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
