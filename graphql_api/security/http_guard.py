"""Checks on an HTTP request before any GraphQL work: header size, CSRF, body size, batches, document size."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from graphql_api.request_ids import current_request_id
from graphql_api.security.config import SecurityConfig

# Headers a cross-site HTML form cannot send; their presence means a CORS preflight has been passed.
PREFLIGHT_HEADERS = ("x-requested-with", "apollo-require-preflight", "x-apollo-operation-name")


class RequestRefused(Exception):
    """Answered as a GraphQL error response with an HTTP status, before execution starts."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extensions: Any
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extensions = status, code, message, extensions
        self.headers = headers

    def response(self) -> JSONResponse:
        extensions = {**self.extensions, "code": self.code, "requestId": current_request_id.get()}
        return JSONResponse(
            {"data": None, "errors": [{"message": self.message, "extensions": extensions}]},
            status_code=self.status,
            headers=self.headers,
        )


def _head_bytes(scope: Scope) -> int:
    line = len(scope.get("method", "GET")) + len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
    return line + sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))


class HeaderSizeLimit:
    """The request line and headers within AIBT_MAX_HEADER_BYTES, however they arrived. The server's h11 refuses
    a head that outgrows this while it arrives, but one that comes in a single read of the socket (up to
    256 KiB) is parsed whole before that limit is looked at."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or _head_bytes(scope) <= self.max_bytes:
            await self.app(scope, receive, send)
            return
        refused = RequestRefused(
            431,
            "BAD_USER_INPUT",
            f"The request line and headers are larger than {self.max_bytes} bytes.",
            maxBytes=self.max_bytes,
        )
        if scope["type"] == "websocket":
            await WebSocket(scope, receive, send).close(code=1008)  # before the handshake: HTTP 403
        else:
            await refused.response()(scope, receive, send)


def too_large(what: str, limit: int) -> RequestRefused:
    return RequestRefused(413, "QUERY_TOO_COMPLEX", f"The {what} is larger than {limit} bytes.", maxBytes=limit)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large("request body", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large("request body", limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body
    return body


SERVED_METHODS = ("GET", "POST")


async def guard_http_request(request: Request, config: SecurityConfig) -> None:
    """Raises RequestRefused for what must not reach the GraphQL layer."""
    if request.method not in SERVED_METHODS:
        raise RequestRefused(
            405,
            "BAD_USER_INPUT",
            f"{request.method} is not served here: send GraphQL with POST (queries may use GET).",
            headers={"Allow": ", ".join(SERVED_METHODS)},
            reason="METHOD",
        )
    if request.method == "GET":
        if len(request.scope.get("query_string", b"")) > config.max_request_bytes:
            raise too_large("query string", config.max_request_bytes)
        return
    media_type = _media_type(request)
    if not _is_json(media_type):
        if not any(request.headers.get(name) for name in PREFLIGHT_HEADERS):
            raise RequestRefused(
                400,
                "BAD_USER_INPUT",
                "Refused as a possible cross-site request forgery (CSRF): POST with Content-Type: application/json "
                "(or send an X-Requested-With header).",
                reason="CSRF",
            )
        raise RequestRefused(415, "BAD_USER_INPUT", "Unsupported content type: POST GraphQL as application/json.")
    body = await _read_capped(request, config.max_request_bytes)
    if body.lstrip()[:1] == b"[":
        raise RequestRefused(
            400,
            "BAD_USER_INPUT",
            "Batched operations are not supported: send one operation per request.",
            reason="BATCH",
        )


def check_document_size(query: object, config: SecurityConfig) -> None:
    if isinstance(query, str) and len(query.encode("utf-8")) > config.max_query_bytes:
        raise too_large("GraphQL document", config.max_query_bytes)
