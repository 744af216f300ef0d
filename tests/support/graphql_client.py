"""A small GraphQL client over real HTTP, and a websocket client speaking graphql-transport-ws."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import websockets


class GraphQLErrorResponse(AssertionError):
    pass


@dataclass
class GraphQLClient:
    http: httpx.AsyncClient

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        request_id: str | None = None,
    ) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if request_id is not None:
            headers["X-Request-ID"] = request_id
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.headers["content-type"].startswith("application/json"), response.text
        return response.json()

    async def data(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        request_id: str | None = None,
    ) -> dict:
        """The response's data; fails the test if any error came back."""
        body = await self.execute(query, variables, token, request_id)
        if body.get("errors"):
            raise GraphQLErrorResponse(json.dumps(body["errors"], indent=2))
        return body["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict:
        """The single error of a response that must have failed."""
        body = await self.execute(query, variables, token)
        errors = body.get("errors") or []
        assert len(errors) == 1, f"expected one error, got {body}"
        return errors[0]

    async def error_code(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> str:
        return (await self.error(query, variables, token))["extensions"]["code"]


async def ws_connect(ws_url: str, payload: dict[str, Any] | None):
    """Opens a graphql-transport-ws connection and sends connection_init; returns the socket."""
    socket = await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"])
    await socket.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
    return socket
