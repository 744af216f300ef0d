"""Small graphql-transport-ws helpers for tests that drive the in-process app's websockets."""

from __future__ import annotations

import asyncio
import json
import uuid

import websockets

from db_models.accounts import User
from db_models.runs import Run, RunStatus, TradingMode
from db_models.trading import TradingModel
from graphql_api.ids import to_global_id


async def acked(ws_url: str, token: str, headers: dict | None = None):
    socket = await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"], additional_headers=headers)
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert json.loads(await asyncio.wait_for(socket.recv(), 5))["type"] == "connection_ack"
    return socket


async def subscribe(socket, operation_id: str, query: str, variables: dict | None = None) -> None:
    await socket.send(
        json.dumps({"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})
    )


async def next_message(socket, timeout: float = 5) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


async def quiet(socket, seconds: float = 0.3) -> bool:
    """True when nothing arrives for a while (the subscription is open and idle)."""
    try:
        message = await asyncio.wait_for(socket.recv(), seconds)
    except TimeoutError:
        return True
    raise AssertionError(f"unexpected message {message}")


async def active_run(account) -> tuple[Run, str]:
    """A RUNNING run of the account's, with no events yet: its stream stays open."""
    owner = await User.get(email=account.email)
    model = await TradingModel.create(
        owner=owner,
        name=f"ws {uuid.uuid4().hex[:6]}",
        signature=uuid.uuid4().hex[:12],
        allowed_tickers=["AAPL"],
        initial_cash=10000,
        ai_model="local/momentum",
        parameters={},
    )
    run = await Run.create(model=model, run_number=1, mode=TradingMode.DAILY, status=RunStatus.RUNNING)
    return run, to_global_id("Run", run.id)


def event_bus(app):
    graphql = next(route.endpoint for route in app.routes if getattr(route, "path", None) == "/graphql")
    return graphql.services.require_bus()
