"""Helpers for arena tests: models, starting arenas, following arenaEvents."""

from __future__ import annotations

import asyncio
import json

from tests.support.graphql_client import ws_connect
from tests.support.wave_market import DAYS

# The swinging symbol of the arena tests (tests/support/wave_market.py).
WAVE = "ARWV"

ARENA_EVENTS = """subscription($id: ID!, $after: Int) { arenaEvents(arenaId: $id, afterSeq: $after) {
  seq arenaId kind runId status at
  runEvent { seq runId kind status message progress { current total } position { action symbol amount price } } } }"""
START_ARENA = """mutation($input: StartArenaInput!) { startArena(input: $input) {
  id name status startDate endDate maxSteps benchmarkSymbol runs { id status runNumber } } }"""
CREATE_MODEL = "mutation($input: CreateModelInput!) { createModel(input: $input) { id } }"


async def create_model(api, account, name: str, ai_model: str, tickers: tuple[str, ...], cash: float = 10000.0) -> str:
    data = await api.data(
        CREATE_MODEL,
        {"input": {"name": name, "allowedTickers": list(tickers), "aiModel": ai_model, "initialCash": cash}},
        token=account.token,
    )
    return data["createModel"]["id"]


def arena_input(name: str, model_ids: list[str], start=DAYS[0], end=DAYS[-1], **extra) -> dict:
    return {
        "input": {"name": name, "modelIds": model_ids, "startDate": start.isoformat(), "endDate": end.isoformat()}
        | extra
    }


async def follow_arena(
    ws_url: str, token: str, arena_id: str, after_seq: int | None = None, limit: int | None = None, timeout: float = 120
) -> tuple[list[dict], dict | None]:
    """Subscribes to arenaEvents; returns (events, error) once the stream completes, errors or reaches limit."""
    socket = await ws_connect(ws_url, {"authorization": f"Bearer {token}"})
    events: list[dict] = []
    try:
        ack = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        variables = {"id": arena_id, "after": after_seq}
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": ARENA_EVENTS, "variables": variables}})
        )
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout))
            if message["type"] == "next":
                if message["payload"].get("errors"):
                    return events, message["payload"]["errors"][0]
                events.append(message["payload"]["data"]["arenaEvents"])
                if limit is not None and len(events) >= limit:
                    return events, None
            elif message["type"] == "error":
                return events, message["payload"][0]
            elif message["type"] == "complete":
                return events, None
    finally:
        await socket.close()
