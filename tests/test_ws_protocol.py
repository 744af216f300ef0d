"""The server's websocket protocol (graphql_api/ws_protocol.py): uvicorn's, keeping no handshake once a socket
is accepted."""

from __future__ import annotations

import gc

from graphql_api.ws_protocol import AcceptedWebSocketProtocol
from tests.support.ws_session import acked, next_message, subscribe


def _protocol_of(socket) -> AcceptedWebSocketProtocol:
    """The server side of a client socket of this process's test server."""
    client = tuple(socket.local_address[:2])
    (protocol,) = [
        obj for obj in gc.get_objects() if type(obj) is AcceptedWebSocketProtocol and tuple(obj.client) == client
    ]
    return protocol


async def test_an_accepted_socket_keeps_no_handshake_and_still_answers(ws_url, user):
    socket = await acked(ws_url, user.token)  # the test server runs the protocol, with `aibt serve`'s options
    try:
        protocol = _protocol_of(socket)
        assert protocol.request is None and protocol.response is None
        await subscribe(socket, "q", "query { me { email } }")
        assert (await next_message(socket))["payload"]["data"]["me"]["email"] == user.email
    finally:
        await socket.close()
