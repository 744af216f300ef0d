"""Prometheus metrics of the API: GraphQL operations, errors, latency, websockets and subscriptions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

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


def _operation_name(name: str | None) -> str:
    # Client-chosen names become label values: keep them short so a client cannot blow up the series.
    return (name or "anonymous")[:MAX_OPERATION_NAME]


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
        name = _operation_name(context.operation_name)
        try:
            kind = context.operation_type
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


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
