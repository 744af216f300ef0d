"""Cross-origin access for browser frontends hosted elsewhere: the origins listed in AIBT_CORS_ORIGINS.

Listed origins get Starlette's CORS answers (preflight and response headers) for the methods and headers
the API uses; requests from any other origin pass through untouched and get no CORS header at all, so a
browser keeps their pages from reading the API. The websocket handshake consults the same list
(graphql_api/view.py). The list is read on every request, so tests can change it on the running app.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.http.websocket_origin import normalize_origin

from graphql_api.security.config import SecurityConfig

ANY_ORIGIN = "*"
ALLOWED_METHODS = ("GET", "POST")  # GraphQL over HTTP; mutations are POST only
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
# Response headers a page may read beyond the CORS-safelisted ones: the request id and a rate limit's wait.
EXPOSED_HEADERS = ("X-Request-ID", "Retry-After")
PREFLIGHT_MAX_AGE_SECONDS = 600


def origin_is_listed(origin: str, listed: frozenset[str]) -> bool:
    if ANY_ORIGIN in listed:
        return True
    normalized = normalize_origin(origin)
    return normalized is not None and normalized in listed


class _ListedOriginsCORS(CORSMiddleware):
    """Starlette's CORS answers, with the origin check reading the running config (it echoes the origin)."""

    def __init__(self, app: ASGIApp, config: SecurityConfig) -> None:
        super().__init__(
            app,
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )
        self.config = config

    def is_allowed_origin(self, origin: str) -> bool:
        return origin_is_listed(origin, self.config.cors_origins)


class CrossOriginMiddleware:
    """CORS for the listed origins only; every other request reaches the app as it came."""

    def __init__(self, app: ASGIApp, config: SecurityConfig) -> None:
        self.app = app
        self.config = config
        self.cors = _ListedOriginsCORS(app, config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = Headers(scope=scope).get("origin") if scope["type"] == "http" else None
        if origin is not None and origin_is_listed(origin, self.config.cors_origins):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
