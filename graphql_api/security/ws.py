"""Websocket rules: every frame checked before it is used, every operation authorised as of now, coded
refusals, and streams that end when the caller's token stops being valid.

Close codes: 1009 a message over AIBT_MAX_REQUEST_BYTES; 4400 a malformed message (not a JSON object, a
subscribe without a string query, a connection_init payload over AIBT_WS_MAX_INIT_BYTES ...); 4401 subscribe
before the ack; 4403 a token refused at connection_init, or no longer valid when an operation starts
(logout, expiry, deleted user); 4408 no connection_init in time; 4409 a duplicate id; 4429 a second
connection_init, or more sockets for one user than AIBT_WS_MAX_CONNECTIONS_PER_USER.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import suppress
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

from graphql_api.error_handling import format_error
from graphql_api.errors import AibtError, Unauthenticated
from graphql_api.request_ids import current_request_id
from graphql_api.security.config import SecurityConfig
from graphql_api.security.request_values import BadRequestValue
from graphql_api.security.response_size import oversized_response_error

if TYPE_CHECKING:
    from graphql_api.context import RequestContext

T = TypeVar("T")
MAX_OPERATION_ID = 128
MAX_CLOSE_REASON = 123  # bytes, as the websocket protocol allows


def _config(holder: object) -> SecurityConfig:
    security = getattr(holder, "security", None)
    return security.config if security is not None else SecurityConfig()


def _reason(text: str) -> str:
    return text.encode()[:MAX_CLOSE_REASON].decode(errors="ignore")


class AibtWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's adapter, with frames checked before they are parsed, responses capped, and a close that
    may be called twice (the first code sent wins)."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                limit = _config(self.view).max_request_bytes
                if len(text) > limit or len(text.encode()) > limit:
                    await self.close(1009, f"A message may hold at most {limit} bytes.")
                    return
                try:
                    message = self.view.decode_json(text)  # a JSON object of storable strings, not too deep
                except json.JSONDecodeError as exc:
                    raise NonJsonMessageReceived from exc
                except BadRequestValue as exc:
                    await self.close(4400, str(exc))
                    return
                yield message
        except KeyError as exc:  # a binary frame
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            await self.ws.close(code=code, reason=_reason(reason))

    async def send_json(self, message: Mapping[str, object]) -> None:
        """Encodes once; a result over AIBT_MAX_RESPONSE_BYTES is replaced by a coded error."""
        limit = _config(self.view).max_response_bytes
        encoded = self.view.encode_json(message)
        if len(encoded) > limit and message.get("type") == "next":
            refusal = {"data": None, "errors": [oversized_response_error(limit)]}
            encoded = self.view.encode_json({**message, "payload": refusal})
        try:
            if isinstance(encoded, bytes):
                await self.ws.send_bytes(encoded)
            else:
                await self.ws.send_text(encoded)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class LiveTarget:
    """Where a websocket operation's frames go: set by the websocket handler for each operation it starts,
    so that the handler can detach the operation from its feed the moment the client completes it."""

    __slots__ = ("member", "operation_id", "socket")

    def __init__(self, socket: Any, operation_id: str) -> None:
        self.socket = socket  # starlette.websockets.WebSocket
        self.operation_id = operation_id
        self.member: Any = None  # its graphql_api.live_feeds.Member once it has joined a feed

    def detach(self) -> None:
        if self.member is not None:
            self.member.leave()


live_target: ContextVar[LiveTarget | None] = ContextVar("live_target", default=None)


def _protocol_problem(message: object) -> str | None:
    """Why a message is not a graphql-transport-ws message this server can act on, or None."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "A message must be a JSON object with a string type."
    kind = message["type"]
    if kind in ("subscribe", "complete"):
        operation_id = message.get("id")
        if not isinstance(operation_id, str) or not 0 < len(operation_id) <= MAX_OPERATION_ID:
            return f"A {kind} message needs an id: a string of 1 to {MAX_OPERATION_ID} characters."
    if kind == "subscribe":
        payload = message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return "A subscribe message needs a payload with a string query."
        for name, kinds in (("variables", dict), ("extensions", dict), ("operationName", str)):
            if payload.get(name) is not None and not isinstance(payload[name], kinds):
                return f"A subscribe payload's {name} must be {'an object' if kinds is dict else 'a string'} or null."
    return None


def _credentials(payload: dict[str, Any]) -> dict[str, str]:
    """All the connection keeps of its connection_init payload: the authorization, if it is a string."""
    value = payload.get("authorization", payload.get("Authorization"))
    return {"authorization": value} if isinstance(value, str) else {}


class AibtTransportWSHandler(BaseGraphQLTransportWSHandler):
    """graphql-transport-ws with this app's limits (see the module's close codes), and coded errors for a
    subscription over the cap or an oversized document."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = _config(self.context)
        self.connection_init_wait_timeout = timedelta(seconds=config.ws_init_timeout_seconds)
        self.max_subscriptions_per_connection = config.ws_max_subscriptions
        self._targets: dict[str, LiveTarget] = {}

    async def _refuse(self, operation_id: str, message: str, code: str, **extensions: Any) -> None:
        payload = [
            {"message": message, "extensions": {**extensions, "code": code, "requestId": current_request_id.get()}}
        ]
        await self.send_message({"id": operation_id, "type": "error", "payload": payload})

    async def handle_message(self, message: Any) -> None:
        problem = _protocol_problem(message)
        if problem is not None:
            await self.websocket.close(code=4400, reason=problem)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        payload = message.get("payload")
        if isinstance(payload, dict):
            limit = _config(self.context).ws_max_init_bytes
            if len(json.dumps(payload)) > limit:
                await self.websocket.close(code=4400, reason=f"The connection_init payload is over {limit} bytes.")
                return
            message = {**message, "payload": _credentials(payload)}
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: Any) -> None:
        starts = self.connection_acknowledged and message["id"] not in self.operations
        if starts and not await self._may_start(message):
            return
        # The operation's task (created by Strawberry, copying this context) finds where its frames go.
        target = LiveTarget(self.websocket.ws, message["id"])
        reset = live_target.set(target)
        try:
            await super().handle_subscribe(message)
        finally:
            live_target.reset(reset)
        if starts and message["id"] in self.operations:
            self._targets[message["id"]] = target

    async def _send_result_stream(self, operation: Any, result_source: Any) -> None:
        """Strawberry's results of the operation; then, for an operation whose resolver handed it to a live
        feed (graphql_api/live_feeds.py), its fed life, after Strawberry's stream (its extensions, executor,
        resolver frames and context) has ended and been let go. Strawberry sends `complete` after this."""
        target = live_target.get()
        try:
            await super()._send_result_stream(operation, result_source)
            if target is not None and target.member is not None:
                await self._fed(operation, target.member)
        finally:
            if target is not None and target.member is not None:
                target.member.close()

    async def _fed(self, operation: Any, member: Any) -> None:
        try:
            await member.wait()
        except Exception as exc:  # what ended the feed or the token, in the frame Strawberry sends for it
            error = format_error(GraphQLError(str(exc), original_error=exc))
            payload = {"data": None, "errors": [error.formatted]}
            await operation.send_operation_message({"id": operation.id, "type": "next", "payload": payload})

    async def cleanup_operation(self, operation_id: str) -> None:
        """A completed (or abandoned) operation leaves its live feed at once: no frame of it follows."""
        target = self._targets.pop(operation_id, None)
        if target is not None:
            target.detach()
        await super().cleanup_operation(operation_id)

    def forget_id(self, id: str) -> None:
        self._targets.pop(id, None)
        super().forget_id(id)

    async def _may_start(self, message: dict[str, Any]) -> bool:
        """Checks the caps and the document's size, then the connection's token as of now: a logout, an
        expiry or a deleted user since connection_init closes the socket (4403)."""
        config = _config(self.context)
        if len(self.operations) >= config.ws_max_subscriptions:
            await self._refuse(
                message["id"],
                f"At most {config.ws_max_subscriptions} operations may run at once on one connection; "
                "complete one first.",
                "RATE_LIMITED",
                maxSubscriptions=config.ws_max_subscriptions,
            )
            return False
        if len(message["payload"]["query"].encode()) > config.max_query_bytes:
            await self._refuse(
                message["id"],
                f"The GraphQL document is larger than {config.max_query_bytes} bytes.",
                "QUERY_TOO_COMPLEX",
                maxBytes=config.max_query_bytes,
            )
            return False
        try:
            await self.context.for_operation().require_auth()
        except Unauthenticated as exc:
            await self.websocket.close(code=4403, reason=exc.message)
            return False
        except AibtError as exc:  # the database is unreachable: this operation fails, the socket stays
            await self._refuse(message["id"], exc.message, exc.code)
            return False
        return True


async def while_authorised(context: RequestContext, events: AsyncIterator[T]) -> AsyncIterator[T]:
    """Passes events through while the caller's token stays valid: the stream ends (Unauthenticated) when
    the token expires, even if no event comes, and when the app's token watch finds it revoked or its user
    deleted (see token_watch.py: one database read per interval for all streams)."""
    _, claims = await context.require_auth()
    iterator = aiter(events)
    pending: asyncio.Future | None = None
    with context.security.token_watch.watching(claims) as token:
        ended = asyncio.ensure_future(token.ended.wait())
        try:
            while True:
                expires_in = (claims.expires_at - datetime.now(UTC)).total_seconds()
                if expires_in <= 0:
                    raise Unauthenticated("The token has expired; log in again.")
                if pending is None:
                    pending = asyncio.ensure_future(anext(iterator))
                await asyncio.wait({pending, ended}, timeout=expires_in, return_when=asyncio.FIRST_COMPLETED)
                token.raise_if_ended()  # an event that arrives with the revocation is not delivered
                if not pending.done():
                    continue  # expired: said at the top of the loop
                future, pending = pending, None
                try:
                    item = future.result()
                except StopAsyncIteration:
                    return
                yield item
        finally:
            ended.cancel()
            if pending is not None:
                pending.cancel()
                with suppress(BaseException):
                    await pending
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                with suppress(Exception):
                    await aclose()
