"""External MCP servers a deployment adds: `AIBT_EXTRA_MCP_SERVERS` names a JSON file of them.

    {"research": {"url": "https://mcp.example.com/mcp", "bearer_token": "..."},
     "filings": {"url": "http://10.0.0.7:9000/mcp", "headers": {"X-Api-Key": "..."}}}

A trading model opts in by naming servers in its extraTools; its runs then get their tools beside the
built-in ones, named `<server>_<tool>` so they can never shadow buy, sell or the price tools. These
servers are not ours: they are not bound to the run's simulated clock (a backtest's agent may read the
present through them), so runs that have them are marked (Run.usedExternalTools) and their snapshot
lists them. Their headers go to them alone: the run's credential for the built-in servers never does.

The file is read when asked for (and again when it changes), like AIBT_<NAME>_URL: the API, the workers
and the status check see the same servers. Headers never appear in a repr, a status or a snapshot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tools.http_clients import mcp_http_client
from tools.launcher import DEFAULT_PORTS, STATUS_TIMEOUT, ToolServerStatus, check_server

logger = logging.getLogger("aibt.tools")

ENV = "AIBT_EXTRA_MCP_SERVERS"
# The name prefixes the server's tool names, which LLM APIs limit to letters, digits, _ and -.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


class ExtraServersError(ValueError):
    """The file of extra MCP servers cannot be used; the message names the file and the entry."""


class NotConfigured(ExtraServersError):
    """Servers are asked for by names the file does not hold; the message lists the configured names."""


@dataclass(frozen=True)
class ExtraServer:
    name: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def public_url(self) -> str:
        """The URL without credentials or a query string (which may carry a token): what status and snapshots show."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def connection(self) -> dict[str, Any]:
        """A langchain-mcp-adapters connection over streamable HTTP."""
        return {
            "transport": "streamable_http",
            "url": self.url,
            "headers": dict(self.headers),
            "httpx_client_factory": mcp_http_client,
        }


def _entry(name: Any, raw: Any, where: str) -> ExtraServer:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ExtraServersError(
            f"{where}: server name {name!r} must be lowercase letters, digits and _ (at most 32, a letter first)."
        )
    if name in DEFAULT_PORTS:
        raise ExtraServersError(f"{where}: {name!r} is a built-in tool server's name; choose another.")
    if not isinstance(raw, dict):
        raise ExtraServersError(f"{where}: {name!r} must be an object with a url.")
    unknown = set(raw) - {"url", "headers", "bearer_token"}
    if unknown:
        keys = ", ".join(sorted(unknown))
        raise ExtraServersError(f"{where}: {name!r} has unknown keys ({keys}); use url, headers, bearer_token.")
    url = raw.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ExtraServersError(f"{where}: {name!r} needs a url like https://host/mcp.")
    headers = raw.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and _HEADER_NAME.match(k) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ExtraServersError(f"{where}: {name!r} headers must map header names to strings.")
    token = raw.get("bearer_token")
    if token is not None:
        if not isinstance(token, str) or not token.strip():
            raise ExtraServersError(f"{where}: {name!r} bearer_token must be a non-empty string.")
        headers = {**headers, "Authorization": f"Bearer {token.strip()}"}
    return ExtraServer(name=name, url=url, headers=headers)


def parse_extra_servers(text: str, where: str) -> dict[str, ExtraServer]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExtraServersError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}).") from None
    if not isinstance(data, dict):
        raise ExtraServersError(f"{where}: expected an object of servers by name.")
    return {name: _entry(name, raw, where) for name, raw in data.items()}


_cache: tuple[tuple[str, int, int], dict[str, ExtraServer]] | None = None


def extra_servers() -> dict[str, ExtraServer]:
    """The configured extra servers by name ({} without AIBT_EXTRA_MCP_SERVERS); ExtraServersError if unusable."""
    global _cache
    configured = os.environ.get(ENV, "").strip()
    if not configured:
        return {}
    path = Path(configured)
    try:
        stat = path.stat()
    except OSError as exc:
        raise ExtraServersError(f"{ENV}={configured}: cannot read the file ({exc.strerror}).") from None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if _cache is None or _cache[0] != key:
        _cache = (key, parse_extra_servers(path.read_text(encoding="utf-8"), f"{ENV}={configured}"))
    return _cache[1]


def chosen_servers(names: list[str]) -> list[ExtraServer]:
    """The configured servers of these names, in order. NotConfigured names any the file does not hold;
    ExtraServersError says why the file itself cannot be used."""
    if not names:
        return []
    configured = extra_servers()
    missing = [name for name in names if name not in configured]
    if missing:
        known = ", ".join(sorted(configured)) or "none"
        raise NotConfigured(f"{', '.join(map(repr, missing))} is not a configured tool server (configured: {known})")
    return [configured[name] for name in names]


async def extra_server_status(*, timeout: float = STATUS_TIMEOUT) -> list[ToolServerStatus]:
    """The health and tools of every extra server (a file that cannot be used is logged, and lists none)."""
    try:
        servers = list(extra_servers().values())
    except ExtraServersError as exc:
        logger.error("the extra tool servers cannot be used: %s", exc)
        return []
    checked = await asyncio.gather(*(check_server(s.name, s.url, timeout=timeout, headers=s.headers) for s in servers))
    return [
        ToolServerStatus(s.name, s.public_url, status.healthy, status.tools, status.error, external=True)
        for s, status in zip(servers, checked, strict=True)
    ]
