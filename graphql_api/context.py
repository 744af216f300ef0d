"""The per-request (or per-websocket-operation) context: settings, the caller, and DataLoaders."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader
from strawberry.extensions import SchemaExtension
from strawberry.types import Info

from db_models.accounts import Role, User
from db_models.log_context import current_user_id
from db_models.settings import Settings
from graphql_api.accounts.loaders import users_by_id
from graphql_api.auth import TokenClaims, authenticate, bearer_token
from graphql_api.errors import AibtError, Forbidden, Unauthenticated
from graphql_api.services import Services

BatchLoad = Callable[[Sequence[Any]], Awaitable[list[Any]]]
Auth = tuple[User, TokenClaims] | AibtError | None


@dataclass
class RequestContext:
    request: Request | WebSocket
    response: Any
    settings: Settings
    services: Services
    request_id: str
    connection_params: dict[str, Any] | None = None
    security: Any = None  # graphql_api.security.runtime.Security of the running app
    # The operation's executor (graphql_api/executor.py): a live feed runs a subscription's events with it.
    event_executor: Any = field(default=None, repr=False)
    # Per operation: every field of one document shares them, nothing outlives the operation.
    _loaders: dict[BatchLoad, DataLoader] = field(default_factory=dict, init=False)
    _auth: Auth = field(default=None, init=False)
    _auth_checked: bool = field(default=False, init=False)
    # Root fields resolve concurrently: the first to ask authenticates, the others wait for its answer.
    _auth_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def for_operation(self) -> RequestContext:
        """A fresh context for one operation of a websocket connection: the caller is authenticated again,
        as of now (a logout, an expiry, a deleted user or a changed role is seen), and no DataLoader serves
        rows cached by an earlier operation."""
        return dataclasses.replace(self)

    def forget_caller(self) -> None:
        """Drops the authenticated caller and every loader's rows: a websocket connection's context keeps
        none once connection_init is answered (each operation authenticates again, in its own context)."""
        self._auth, self._auth_checked, self._loaders = None, False, {}

    def loader(self, batch_load: BatchLoad) -> DataLoader:
        """One DataLoader per batch function, cached for this operation."""
        if batch_load not in self._loaders:
            self._loaders[batch_load] = DataLoader(load_fn=batch_load)
        return self._loaders[batch_load]

    def _token(self) -> str | None:
        if isinstance(self.request, WebSocket):
            params = self.connection_params or {}
            value = params.get("authorization") or params.get("Authorization")
            return bearer_token(value if isinstance(value, str) else None)
        return bearer_token(self.request.headers.get("authorization"))

    async def _authenticate(self) -> Auth:
        try:
            token = self._token()
            return None if token is None else await authenticate(self.settings, token)
        except Unauthenticated as exc:
            return exc

    async def _resolve_auth(self) -> Auth:
        async with self._auth_lock:
            if not self._auth_checked:
                # A failure to reach the database propagates and is not remembered: the next field retries.
                self._auth = await self._authenticate()
                self._auth_checked = True
                if isinstance(self._auth, tuple):
                    # The caller owns most of what it reads: a field asking for that owner needs no query.
                    self.loader(users_by_id).prime(self._auth[0].id, self._auth[0])
        if isinstance(self._auth, tuple):
            current_user_id.set(self._auth[0].id)  # every later log line of this field names the user
        return self._auth

    async def optional_user(self) -> User | None:
        auth = await self._resolve_auth()
        return auth[0] if isinstance(auth, tuple) else None

    async def require_auth(self) -> tuple[User, TokenClaims]:
        auth = await self._resolve_auth()
        if isinstance(auth, AibtError):
            raise auth
        if auth is None:
            raise Unauthenticated("Sign in first: send Authorization: Bearer <token>.")
        return auth

    async def require_user(self) -> User:
        return (await self.require_auth())[0]

    async def require_admin(self) -> User:
        user = await self.require_user()
        if user.role != Role.ADMIN:
            raise Forbidden("Only an admin may do this.")
        return user


class OperationContext(SchemaExtension):
    """Runs each operation of a websocket connection with its own context (RequestContext.for_operation):
    a connection lives for hours, and what its operations may do is decided when each one starts."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, RequestContext) and isinstance(context.request, WebSocket):
            self.execution_context.context = context.for_operation()
        yield


AppInfo = Info[RequestContext, None]


def context_of(info: AppInfo) -> RequestContext:
    return info.context
