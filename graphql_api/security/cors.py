"""Cross-origin access for browser frontends hosted elsewhere: the origins listed in AIBT_CORS_ORIGINS.

Listed origins get Starlette's CORS answers (preflight and response headers) for the methods and headers
the API uses; a preflight asking for any other method or header is refused as the API refuses other requests
(JSON, a code, the request id) and granted nothing. Requests from any other origin pass through untouched and
get no CORS header at all, so a browser keeps their pages from reading the API. The websocket handshake
consults the same list (graphql_api/view.py). The list is read on every request, so tests can change it on
the running app.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.http.websocket_origin import normalize_origin

from graphql_api.security.config import SecurityConfig
from graphql_api.security.http_guard import RequestRefused

ANY_ORIGIN = "*"
ALLOWED_METHODS = ("GET", "POST")  # GraphQL over HTTP; mutations are POST only
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
# Response headers a page may read beyond the CORS-safelisted ones: the request id and a rate limit's wait.
EXPOSED_HEADERS = ("X-Request-ID", "Retry-After")
PREFLIGHT_MAX_AGE_SECONDS = 600
QUOTED_NAMES, QUOTED_CHARS = 5, 64  # of the refused header names a refusal repeats: never the whole header


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

    def preflight_response(self, request_headers: Headers) -> Response:
        granted = super().preflight_response(request_headers)
        if granted.status_code < 400:
            return granted
        # Starlette's refusal is plain text carrying the grant headers; this one carries none of them.
        response = self._refusal(request_headers).response()
        response.headers["Vary"] = "Origin"
        return response

    def _refusal(self, request_headers: Headers) -> RequestRefused:
        method = request_headers["access-control-request-method"]
        requested = request_headers.get("access-control-request-headers")
        asked = [] if requested is None else [name.strip() for name in requested.lower().split(",")]
        refused_headers = [name for name in asked if name not in self.allow_headers]
        problems = []
        if method not in self.allow_methods:
            problems.append(f"the method {method[:QUOTED_CHARS]!r}")
        if refused_headers:
            quoted = ", ".join(repr(name[:QUOTED_CHARS]) for name in refused_headers[:QUOTED_NAMES])
            more = len(refused_headers) - QUOTED_NAMES
            problems.append(f"the headers {quoted}" + (f" and {more} more" if more > 0 else ""))
        if "access-control-request-private-network" in request_headers:
            problems.append("private network access")
        if not problems:  # what else Starlette refuses (an origin unlisted since the request came in)
            problems.append(f"the origin {request_headers['origin'][:QUOTED_CHARS]!r}")
        return RequestRefused(
            400,
            "BAD_USER_INPUT",
            f"This CORS preflight asks for {' and '.join(problems)}: cross-origin requests may use the methods "
            f"{', '.join(ALLOWED_METHODS)} and the headers {', '.join(ALLOWED_HEADERS)} only.",
            reason="CORS",
            allowedMethods=list(ALLOWED_METHODS),
            allowedHeaders=list(ALLOWED_HEADERS),
        )


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
