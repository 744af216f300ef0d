"""Runs the real ASGI app under uvicorn on a free loopback port, inside the test event loop, with the
options `aibt serve` uses."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp

from graphql_api.cli import uvicorn_options


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def running_server(app: ASGIApp) -> AsyncIterator[str]:
    """Yields the server's base URL once it accepts connections. The AIBT app runs with `aibt serve`'s
    options; stand-ins for other services (any ASGI app) run with uvicorn's defaults."""
    port = free_port()
    state = getattr(app, "state", None)
    settings = getattr(state, "settings", None)
    options = uvicorn_options(settings) if settings is not None else {}
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # re-raise why the server could not start
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
