"""The events of a run: what each carries, and publishing them in order on the run's stream."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db_models.runs import Position, Run
from tasks.arena_events import relay_member_event
from tasks.events import EventBus

TERMINAL_KINDS = frozenset({"COMPLETED", "FAILED", "CANCELLED"})


def run_stream(run_id: int) -> str:
    return f"run:{run_id}"


def progress_payload(run: Run) -> dict[str, Any]:
    return {
        "current": run.progress_current,
        "total": run.progress_total,
        "message": run.progress_message,
        "currentDate": run.progress_date.isoformat() if run.progress_date else None,
    }


def position_payload(position: Position) -> dict[str, Any]:
    return {
        "pk": position.id,
        "date": position.date.isoformat(),
        "timestamp": position.timestamp.isoformat(),
        "actionId": position.action_id,
        "action": str(position.action),
        "symbol": position.symbol,
        "amount": position.amount,
        "price": None if position.price is None else str(position.price),
        "holdings": position.holdings,
        "cash": str(position.cash),
    }


async def publish_run_event(
    bus: EventBus, run: Run, kind: str, *, message: str | None = None, position: Position | None = None
) -> int:
    """Publishes after the caller has written the state the event announces; an arena member's events go
    to its arena's stream as well."""
    event = {
        "runId": run.id,
        "kind": kind,
        "status": str(run.status),
        "progress": progress_payload(run),
        "message": message,
        "position": None if position is None else position_payload(position),
        "at": dt.datetime.now(dt.UTC).isoformat(),
    }
    seq = await bus.publish(run_stream(run.id), event)
    await relay_member_event(bus, run, {**event, "seq": seq}, seq, final=kind in TERMINAL_KINDS)
    return seq
