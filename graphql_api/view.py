"""The Strawberry ASGI view: builds the request context and authenticates websocket connections."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from db_models.settings import Settings
from graphql_api.context import RequestContext
from graphql_api.errors import AibtError
from graphql_api.request_ids import current_request_id
from graphql_api.security.cors import origin_is_listed
from graphql_api.security.http_guard import RequestRefused, check_document_size, guard_http_request
from graphql_api.security.runtime import Security
from graphql_api.security.ws import AibtTransportWSHandler
from graphql_api.services import Services


class AibtGraphQL(GraphQL):
    graphql_transport_ws_handler_class = AibtTransportWSHandler

    def __init__(
        self, schema: Any, settings: Settings, services: Services, security: Security | None = None, **options: Any
    ) -> None:
        options.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        super().__init__(schema, graphql_ide=None if settings.is_production else "graphiql", **options)
        self.settings = settings
        self.services = services
        self.security = security or Security.from_settings(settings)

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """A page on another origin may open a websocket only when AIBT_CORS_ORIGINS lists it, as for HTTP."""
        return origin_is_listed(origin, self.security.config.cors_origins)

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> RequestContext:
        return RequestContext(
            request=request,
            response=response,
            settings=self.settings,
            services=self.services,
            request_id=current_request_id.get(),
            security=self.security,
        )

    async def run(self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if self.is_websocket_request(request):
            return await super().run(request, context, root_value)
        try:
            await guard_http_request(request, self.security.config)
            return await super().run(request, context, root_value)
        except RequestRefused as refused:
            return refused.response()
        except HTTPException as exc:  # Strawberry's refusals (GET mutations, bad JSON ...), as GraphQL errors
            if exc.status_code == 404:
                return Response("Not Found", status_code=404)
            return RequestRefused(exc.status_code, "BAD_USER_INPUT", exc.reason).response()

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            check_document_size(item.query, self.security.config)
        return data

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        """Refuses the connection (close 4403) unless connection_init carries a valid token."""
        try:
            await context.require_auth()
        except AibtError as exc:
            raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from None
        return None
