"""Websocket rules: the init timeout and subscription cap from the config, coded refusals, and streams
that end when the caller's token stops being valid."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

from graphql_api.errors import Unauthenticated
from graphql_api.request_ids import current_request_id
from graphql_api.security.config import SecurityConfig

if TYPE_CHECKING:
    from graphql_api.context import RequestContext

T = TypeVar("T")


def _config(context: object) -> SecurityConfig:
    security = getattr(context, "security", None)
    return security.config if security is not None else SecurityConfig()


class AibtTransportWSHandler(BaseGraphQLTransportWSHandler):
    """graphql-transport-ws with this app's limits: 4408 without connection_init in time, 4401 on subscribe
    before ack, 4429 on a second init, 4409 on a duplicate id (Strawberry's), and coded errors for a
    subscription over the cap or an oversized document."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = _config(self.context)
        self.connection_init_wait_timeout = timedelta(seconds=config.ws_init_timeout_seconds)
        self.max_subscriptions_per_connection = config.ws_max_subscriptions

    async def _refuse(self, operation_id: str, message: str, code: str, **extensions: Any) -> None:
        payload = [
            {"message": message, "extensions": {**extensions, "code": code, "requestId": current_request_id.get()}}
        ]
        await self.send_message({"id": operation_id, "type": "error", "payload": payload})

    async def handle_subscribe(self, message: Any) -> None:
        if self.connection_acknowledged and message.get("id") not in self.operations:
            config = _config(self.context)
            if len(self.operations) >= config.ws_max_subscriptions:
                await self._refuse(
                    message["id"],
                    f"At most {config.ws_max_subscriptions} operations may run at once "
                    "on one connection; complete one first.",
                    "RATE_LIMITED",
                    maxSubscriptions=config.ws_max_subscriptions,
                )
                return
            query = (message.get("payload") or {}).get("query")
            if isinstance(query, str) and len(query.encode("utf-8")) > config.max_query_bytes:
                await self._refuse(
                    message["id"],
                    f"The GraphQL document is larger than {config.max_query_bytes} bytes.",
                    "QUERY_TOO_COMPLEX",
                    maxBytes=config.max_query_bytes,
                )
                return
        await super().handle_subscribe(message)


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
