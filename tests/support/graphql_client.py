"""A small GraphQL client over real HTTP, and a websocket client speaking graphql-transport-ws."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass
class Followed:
    """What a subscription delivered: its events (the field's value of each `next`), the error that ended it if
    any, and every raw message received."""

    events: list[dict] = field(default_factory=list)
    error: dict | None = None
    raw: list[str] = field(default_factory=list)


def until_count(limit: int | None) -> Callable[[list[dict]], bool]:
    """Stop after `limit` events (None: follow the stream to its end)."""
    return lambda events: limit is not None and len(events) >= limit


async def follow_subscription(
    ws_url: str,
    token: str,
    query: str,
    variables: dict[str, Any],
    *,
    until: Callable[[list[dict]], bool] = lambda events: False,
    on_open: Callable[[], object] | None = None,
    timeout: float = 120,
) -> Followed:
    """Subscribes over a real websocket and collects the events until the stream completes or errors, or
    `until(events)` holds. `on_open` runs once the subscription is listening (it may be a coroutine)."""
    socket = await ws_connect(ws_url, {"authorization": f"Bearer {token}"})
    followed = Followed()
    try:
        ack = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        payload = {"query": query, "variables": variables}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        if on_open is not None:
            await asyncio.sleep(0.2)  # the subscription is listening
            result = on_open()
            if asyncio.iscoroutine(result):
                await result
        while not until(followed.events):
            text = await asyncio.wait_for(socket.recv(), timeout)
            followed.raw.append(text)
            message = json.loads(text)
            if message["type"] == "next":
                if message["payload"].get("errors"):
                    followed.error = message["payload"]["errors"][0]
                    break
                followed.events.append(next(iter(message["payload"]["data"].values())))
            elif message["type"] == "error":
                followed.error = message["payload"][0]
                break
            elif message["type"] == "complete":
                break
        return followed
    finally:
        await socket.close()
