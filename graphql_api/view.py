"""The Strawberry ASGI view: builds the request context and authenticates websocket connections."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from db_models.settings import Settings
from graphql_api.context import RequestContext
from graphql_api.errors import AibtError
from graphql_api.request_ids import current_request_id
from graphql_api.services import Services


class AibtGraphQL(GraphQL):
    def __init__(self, schema: Any, settings: Settings, services: Services, **options: Any) -> None:
        super().__init__(schema, graphql_ide=None if settings.is_production else "graphiql", **options)
        self.settings = settings
        self.services = services

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> RequestContext:
        return RequestContext(
            request=request, response=response, settings=self.settings, services=self.services,
            request_id=current_request_id.get(),
        )

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        """Refuses the connection (close 4403) unless connection_init carries a valid token."""
        try:
            await context.require_auth()
        except AibtError as exc:
            raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from None
        return None
