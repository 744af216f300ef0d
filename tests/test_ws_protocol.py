"""The server's websocket protocol (graphql_api/ws_protocol.py): uvicorn's, keeping no handshake once a socket
is accepted."""

from __future__ import annotations

import gc

from graphql_api.ws_protocol import AcceptedWebSocketProtocol
from tests.support.ws_session import acked, next_message, subscribe


def _open_protocols() -> list[AcceptedWebSocketProtocol]:
    return [obj for obj in gc.get_objects() if isinstance(obj, AcceptedWebSocketProtocol) and not obj.disconnected]


async def test_an_accepted_socket_keeps_no_handshake_and_still_answers(ws_url, user):
    socket = await acked(ws_url, user.token)
    try:
        protocols = _open_protocols()
        assert protocols  # the test server runs it, with `aibt serve`'s options
        assert all(protocol.request is None and protocol.response is None for protocol in protocols)
        await subscribe(socket, "q", "query { me { email } }")
        assert (await next_message(socket))["payload"]["data"]["me"]["email"] == user.email
    finally:
        await socket.close()
