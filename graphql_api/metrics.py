"""Prometheus metrics of the API: GraphQL operations, errors, latency, websockets and subscriptions.

Operation names are chosen by clients, and every distinct label value is a series kept for the life of the
process: only the first AIBT_METRICS_MAX_OPERATION_NAMES names get a label of their own, later ones share
"other". /metrics answers only with AIBT_METRICS_TOKEN when one is set (or moves to AIBT_METRICS_PORT).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graphql_api.document_cache import is_placeholder

REQUESTS = Counter("aibt_graphql_requests_total", "GraphQL operations executed.", ["operation", "type"])
ERRORS = Counter(
    "aibt_graphql_errors_total", "Errors returned, by operation and extensions.code.", ["operation", "code"]
)
LATENCY = Histogram(
    "aibt_graphql_request_seconds",
    "Time to execute a query or mutation.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OPEN_WEBSOCKETS = Gauge("aibt_open_websockets", "Websocket connections open now.")
ACTIVE_SUBSCRIPTIONS = Gauge("aibt_active_subscriptions", "Subscriptions streaming now.")

MAX_OPERATION_NAME = 64
OTHER_OPERATIONS = "other"


class OperationNames:
    """The operation names that have a label of their own: the first `limit` seen, kept for good."""

    def __init__(self) -> None:
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._known)

    def label(self, name: str | None, limit: int) -> str:
        if not name:
            return "anonymous"
        name = name[:MAX_OPERATION_NAME]
        with self._lock:
            if name in self._known:
                return name
            if len(self._known) < limit:
                self._known.add(name)
                return name
        return OTHER_OPERATIONS


operation_names = OperationNames()


def _name_limit(context: object) -> int:
    security = getattr(context, "security", None)
    return security.config.metrics_max_operation_names if security is not None else 200


@contextmanager
def active_subscription() -> Iterator[None]:
    """Wraps a subscription's event stream, however it ends."""
    ACTIVE_SUBSCRIPTIONS.inc()
    try:
        yield
    finally:
        ACTIVE_SUBSCRIPTIONS.dec()


class MetricsExtension(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self._record(time.perf_counter() - started)

    def _record(self, seconds: float) -> None:
        context = self.execution_context
        name = operation_names.label(context.operation_name, _name_limit(context.context))
        try:
            kind = None if is_placeholder(context.graphql_document) else context.operation_type
        except RuntimeError:  # the document did not parse: no operation type to speak of
            kind = None
        REQUESTS.labels(name, kind.value if kind else "invalid").inc()
        if kind != OperationType.SUBSCRIPTION:  # a subscription's duration is its stream's, not a latency
            LATENCY.labels(name).observe(seconds)
        result = context.result
        for error in getattr(result, "errors", None) or []:
            ERRORS.labels(name, (error.extensions or {}).get("code", "INTERNAL")).inc()


class WebsocketGaugeMiddleware:
    """Counts websocket connections from accept to close, however they end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        OPEN_WEBSOCKETS.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            OPEN_WEBSOCKETS.dec()


def _authorised(request: Request, token: str | None) -> bool:
    if token is None:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics_endpoint(request: Request) -> Response:
    if not _authorised(request, request.app.state.settings.metrics_token):
        return Response(
            "Send Authorization: Bearer <AIBT_METRICS_TOKEN>.\n",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
