"""The Starlette application: GraphQL over HTTP and websockets, health and readiness probes."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import start_http_server
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute
from tortoise import Tortoise
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from db_models.config import apply_migrations, tortoise_config
from db_models.price_seed import seed_shipped_prices
from db_models.settings import Settings, get_settings
from graphql_api.auth import load_approved_users
from graphql_api.health import healthz, readyz
from graphql_api.metrics import WebsocketGaugeMiddleware, metrics_endpoint
from graphql_api.request_ids import RequestIdMiddleware
from graphql_api.schema import schema
from graphql_api.security.cors import CrossOriginMiddleware
from graphql_api.security.http_guard import HeaderSizeLimit
from graphql_api.security.runtime import Security
from graphql_api.services import Services
from graphql_api.spa import SinglePageApp
from graphql_api.view import AibtGraphQL
from tasks import actors
from tasks.dispatch import Dispatcher, InProcessDispatcher
from tasks.events import EventBus, InProcessEventBus, RedisEventBus
from tasks.reaper import reap_forever
from tasks.tool_sessions import close_tool_sessions
from tools.extra_servers import extra_servers
from tools.launcher import start_embedded_tool_servers

logger = logging.getLogger("aibt.app")


def _dispatcher(settings: Settings, bus: EventBus) -> Dispatcher:
    """With Redis, runs and replies go to the broker's workers; embedded, this process runs them."""
    return actors.dispatcher if settings.redis_url else InProcessDispatcher(settings, bus)


def _start_services(settings: Settings, services: Services) -> None:
    # A request that publishes fails fast (UNAVAILABLE) while Redis is down rather than hanging.
    services.bus = (
        RedisEventBus(settings.redis_url, prefix=settings.redis_prefix, publish_retry_seconds=1.0)
        if settings.redis_url
        else InProcessEventBus()
    )
    services.dispatcher = _dispatcher(settings, services.bus)
    if settings.is_embedded:  # the in-process worker resumes what a previous process left RUNNING
        services.reaper = asyncio.create_task(reap_forever(settings, services.bus, services.dispatcher))


async def _stop_services(services: Services) -> None:
    if services.reaper is not None:
        services.reaper.cancel()
    if services.dispatcher is not None:
        await services.dispatcher.close()
    if services.bus is not None:
        await services.bus.close()


def _lifespan(settings: Settings, services: Services):
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        load_approved_users(settings.approved_users_file)  # fail fast on a malformed file
        extra_servers()  # and on a malformed AIBT_EXTRA_MCP_SERVERS
        if settings.is_embedded:
            await apply_migrations(settings.database_url)
        await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
        if settings.is_embedded and settings.seed_prices:
            await seed_shipped_prices()  # once; later starts only check that it is there
        tool_servers = start_embedded_tool_servers() if settings.is_embedded and settings.start_tools else None
        # With AIBT_METRICS_PORT, metrics leave the public port for one only the operator's network reaches.
        metrics_server = (
            start_http_server(settings.metrics_port, settings.metrics_host)[0] if settings.metrics_port else None
        )
        _start_services(settings, services)
        # What start-up made (modules, the schema, caches) lives as long as the process: out of the collector's
        # sight, a full collection takes milliseconds instead of most of a second with the interpreter lock
        # held, which would stall every request of the process (an allocation-heavy request triggers one).
        gc.freeze()
        try:
            yield
        finally:
            await _stop_services(services)
            await app.state.security.close()
            if metrics_server is not None:
                metrics_server.shutdown()
                metrics_server.server_close()
            await close_tool_sessions()  # the runs' sessions, to embedded or separate tool servers
            if tool_servers is not None:
                await tool_servers.stop()
            await Tortoise.close_connections()

    return lifespan


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    services = Services()
    security = Security.from_settings(settings)
    graphql = AibtGraphQL(schema, settings, services, security)
    routes = [
        Route("/graphql", graphql),  # every method: the view answers those it does not serve (405, as JSON)
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Mount("/app", SinglePageApp(), name="app"),
    ]
    if settings.metrics_port is None:
        routes.append(Route("/metrics", metrics_endpoint))
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(HeaderSizeLimit, max_bytes=settings.max_header_bytes),
        Middleware(CrossOriginMiddleware, config=security.config),
        Middleware(WebsocketGaugeMiddleware),
    ]
    if settings.forwarded_allow_ips:
        # X-Forwarded-For names the client only when it comes from a proxy the operator listed; uvicorn's own
        # proxy handling is off (graphql_api/cli.py), so no server default can make the app believe others.
        middleware.insert(0, Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.forwarded_allow_ips)))
    app = Starlette(routes=routes, middleware=middleware, lifespan=_lifespan(settings, services))
    app.state.settings = settings
    app.state.security = security
    return app
