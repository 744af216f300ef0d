"""The Strawberry ASGI view: builds the request context, checks what a request carries before Strawberry
reads it, caps what it answers, and admits websockets (authenticated, within the per-address and per-user
caps)."""

from __future__ import annotations

import logging
from typing import Any

from cross_web import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from db_models.settings import Settings
from graphql_api.context import RequestContext
from graphql_api.error_handling import INTERNAL_MESSAGE
from graphql_api.errors import AibtError
from graphql_api.request_ids import current_request_id
from graphql_api.security.cors import origin_is_listed
from graphql_api.security.http_guard import RequestRefused, check_document_size, guard_http_request
from graphql_api.security.rate_limits import connection_address
from graphql_api.security.request_values import BadRequestValue, check_request_value
from graphql_api.security.request_values import decode_json as decode_request_json
from graphql_api.security.response_size import oversized_response_error
from graphql_api.security.runtime import Security
from graphql_api.security.ws import AibtTransportWSHandler, AibtWebSocketAdapter
from graphql_api.services import Services

logger = logging.getLogger("aibt.errors")


class AibtGraphQL(GraphQL):
    graphql_transport_ws_handler_class = AibtTransportWSHandler
    websocket_adapter_class = AibtWebSocketAdapter  # type: ignore[assignment]

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
            return await self._run_websocket(request, context, root_value)
        try:
            await guard_http_request(request, self.security.config)
            return await super().run(request, context, root_value)
        except RequestRefused as refused:
            return refused.response()
        except BadRequestValue as bad:
            return RequestRefused(400, "BAD_USER_INPUT", str(bad)).response()
        except ClientDisconnect:  # the client left (or was cut off) before its body arrived: nobody to answer
            logger.info("request %s: the client disconnected before sending its whole body", current_request_id.get())
            return Response(status_code=400)
        except HTTPException as exc:  # Strawberry's refusals (GET mutations, bad JSON ...), as GraphQL errors
            if exc.status_code == 404:
                return Response("Not Found", status_code=404)
            return RequestRefused(exc.status_code, "BAD_USER_INPUT", exc.reason).response()
        except Exception:  # whatever slipped past the checks: still JSON, still a request id, nothing inside
            logger.exception("unexpected failure of request %s", current_request_id.get())
            return RequestRefused(500, "INTERNAL", INTERNAL_MESSAGE).response()

    # --- what a request carries -------------------------------------------------------------------------

    def decode_json(self, data: str | bytes) -> object:
        """Every JSON a client sends (a body, GET's variables, a websocket message) is an object of storable
        strings, nested at most AIBT_MAX_JSON_DEPTH deep."""
        value = decode_request_json(data)
        if not isinstance(value, dict):
            raise BadRequestValue('Send a JSON object: {"query": ..., "variables": {...}}.')
        check_request_value(value, self.security.config.max_json_depth)
        return value

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item.operation_name, str | None):
                raise BadRequestValue("operationName must be a string or null.")
            if request.method == "GET":  # a query string's values did not pass through decode_json
                check_request_value([item.query, item.operation_name], self.security.config.max_json_depth)
            check_document_size(item.query, self.security.config)
        return data

    # --- what it answers --------------------------------------------------------------------------------

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        limit = self.security.config.max_response_bytes
        if len(response.body) > limit:
            return JSONResponse({"data": None, "errors": [oversized_response_error(limit)]})
        return response

    # --- websockets -------------------------------------------------------------------------------------

    async def _run_websocket(self, websocket: WebSocket, context: Any, root_value: Any) -> Any:
        """Admits at most AIBT_WS_MAX_CONNECTIONS_PER_ADDRESS sockets per address (HTTP 429 otherwise) and
        frees the socket's places, per address and per user, however it ends."""
        config, sockets = self.security.config, self.security.sockets
        address = ("address", connection_address(websocket))
        if not sockets.try_open(address, config.ws_max_connections_per_address):
            refused = RequestRefused(
                429,
                "RATE_LIMITED",
                f"At most {config.ws_max_connections_per_address} websockets may be open from one address.",
                maxConnections=config.ws_max_connections_per_address,
            )
            if "websocket.http.response" in websocket.scope.get("extensions", {}):
                await websocket.send_denial_response(refused.response())
            else:
                await websocket.close(code=1013)
            return websocket
        websocket.state.socket_keys = [address]
        try:
            return await super().run(websocket, context, root_value)
        finally:
            for key in websocket.state.socket_keys:
                sockets.close(key)

    async def on_ws_connect(self, context: RequestContext) -> UnsetType | dict[str, object] | None:
        """Refuses the connection (close 4403) unless connection_init carries a valid token, and (close 4429)
        when the user already holds AIBT_WS_MAX_CONNECTIONS_PER_USER sockets."""
        try:
            user = await context.require_user()
        except AibtError as exc:
            raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from None
        limit = self.security.config.ws_max_connections_per_user
        key = ("user", user.id)
        if not self.security.sockets.try_open(key, limit):
            await context.request.close(code=4429, reason=f"At most {limit} websockets per user.")
            raise ConnectionRejectionError({"message": "Too many websockets.", "code": "RATE_LIMITED"})
        context.request.state.socket_keys.append(key)
        context.forget_caller()  # the connection lives for hours: it holds no User row meanwhile
        return None
