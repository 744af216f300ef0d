"""HTTP clients that share one TLS context per process.

httpx builds a new TLS context for every client by default, loading the whole CA bundle: about 30 ms of
CPU each. A run opens a client per MCP server and the search tool one per search, so without sharing,
building contexts was the largest single cost in the worker's profile.
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

import httpx

# The MCP SDK's own client timeouts: a server may hold a response stream open far longer than a request.
MCP_TIMEOUT = httpx.Timeout(30.0, read=300.0)


@cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def http_client(**options: Any) -> httpx.AsyncClient:
    """An httpx.AsyncClient with the process's TLS context; options as httpx.AsyncClient's."""
    return httpx.AsyncClient(verify=tls_context(), **options)


def mcp_http_client(
    headers: dict[str, str] | None = None, timeout: httpx.Timeout | None = None, auth: httpx.Auth | None = None
) -> httpx.AsyncClient:
    """langchain-mcp-adapters' `httpx_client_factory`: the MCP SDK's default client, with the shared context."""
    return http_client(headers=headers, timeout=timeout or MCP_TIMEOUT, auth=auth)
