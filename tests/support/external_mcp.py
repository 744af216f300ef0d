"""An external MCP server of the kind a deployment adds with AIBT_EXTRA_MCP_SERVERS: a FastMCP app behind a
bearer token, on a free loopback port, recording its calls and the headers they came with."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mcp.server.fastmcp import FastMCP
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.support.server import running_server
from tools.extra_servers import ENV


@dataclass
class ExternalServer:
    url: str
    token: str
    calls: list[str] = field(default_factory=list)
    headers_seen: list[dict[str, str]] = field(default_factory=list)


def _research_server(record: ExternalServer) -> FastMCP:
    server = FastMCP("research")

    @server.tool()
    def consensus_rating(symbol: str) -> str:
        """Today's consensus analyst rating of a stock (not tied to any backtest date)."""
        record.calls.append(symbol)
        return f"{symbol}: BUY, consensus of 12 analysts as of today"

    return server


class _RequireBearer:
    """Answers 401 to any HTTP request without the token (as a hosted MCP service would)."""

    def __init__(self, app: ASGIApp, record: ExternalServer) -> None:
        self.app, self.record = app, record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
            self.record.headers_seen.append(headers)
            if headers.get("authorization") != f"Bearer {self.record.token}":
                await PlainTextResponse("unauthorized", status_code=401)(scope, receive, send)
                return
        await self.app(scope, receive, send)


@asynccontextmanager
async def running_research_server(token: str = "research-token-5r2") -> AsyncIterator[ExternalServer]:
    record = ExternalServer(url="", token=token)
    app = _RequireBearer(_research_server(record).streamable_http_app(), record)
    async with running_server(app) as url:
        record.url = f"{url}/mcp"
        yield record


def write_config(path: Path, servers: dict[str, dict]) -> Path:
    path.write_text(json.dumps(servers))
    return path


@asynccontextmanager
async def configured(path: Path) -> AsyncIterator[None]:
    """AIBT_EXTRA_MCP_SERVERS set for this process (the session's API and in-process worker) while inside."""
    previous = os.environ.get(ENV)
    os.environ[ENV] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous


@asynccontextmanager
async def research_configured(directory: Path) -> AsyncIterator[ExternalServer]:
    """The research server running and configured as `research` (with its bearer token) while inside."""
    async with running_research_server() as server:
        config = write_config(directory / "extra.json", {"research": {"url": server.url, "bearer_token": server.token}})
        async with configured(config):
            yield server
