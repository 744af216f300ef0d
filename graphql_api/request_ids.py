"""A request id for every HTTP request and websocket connection, in the response and in every log line."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db_models.log_context import current_request_id

_SAFE_INCOMING = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HEADER = "x-request-id"


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == HEADER.encode():
            text = value.decode("latin-1")
            return text if _SAFE_INCOMING.match(text) else None
    return None


class RequestIdMiddleware:
    """Takes a well-formed X-Request-ID from the client or makes one, and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        token = current_request_id.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((HEADER.encode(), request_id.encode()))
            await send(message)

        try:
            # A websocket's frames go out unwrapped: a live feed sends one per subscriber per event.
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            current_request_id.reset(token)
