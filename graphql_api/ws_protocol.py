"""uvicorn's websocket protocol, minus the opening handshake once the socket is accepted.

uvicorn keeps the handshake's request and response, each with its headers, for the socket's whole life,
though nothing reads them after the accept (the app reads the headers from the ASGI scope): a few KB of
every idle subscription's memory (README.md, Performance).
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class AcceptedWebSocketProtocol(WebSocketsSansIOProtocol):
    def start_keepalive(self) -> None:
        super().start_keepalive()  # uvicorn calls it once, right after sending the accepting response
        self.request = self.response = None  # type: ignore[assignment]
