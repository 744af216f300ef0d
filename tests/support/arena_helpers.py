"""Helpers for arena tests: models, starting arenas, following arenaEvents."""

from __future__ import annotations

from tests.support.graphql_client import follow_subscription, until_count
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
    followed = await follow_subscription(
        ws_url,
        token,
        ARENA_EVENTS,
        {"id": arena_id, "after": after_seq},
        until=until_count(limit),
        timeout=timeout,
    )
    return followed.events, followed.error
