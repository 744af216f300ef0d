"""A run's events on its stream: published from the run's stored state, read back as typed events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace

from db_models import runs as db
from tasks import event_contract as contract
from tasks.arena_events import relay_member_event
from tasks.events import EventBus


def progress_of(run: db.Run) -> contract.RunProgress:
    return contract.RunProgress(
        current=run.progress_current,
        total=run.progress_total,
        message=run.progress_message,
        current_date=run.progress_date,
    )


def position_of(row: db.Position) -> contract.Position:
    return contract.Position(
        pk=row.id,
        date=row.date,
        timestamp=row.timestamp,
        action_id=row.action_id,
        action=db.ActionType(row.action),
        symbol=row.symbol,
        amount=row.amount,
        price=row.price,
        holdings=row.holdings,
        cash=row.cash,
        fee=row.fee,
    )


@dataclass(frozen=True)
class Announcement:
    """One run event to publish: its kind, sentence and position; the run's status and progress come with it."""

    kind: contract.RunEventKind
    message: str | None = None
    position: db.Position | None = None


async def publish_run_events(bus: EventBus, run: db.Run, announcements: Sequence[Announcement]) -> list[int]:
    """Publishes after the caller has written the state the events announce, in order and in one round trip
    (consecutive seqs); returns their seqs. An arena member's events go on its arena's stream as well."""
    events = [
        contract.RunEvent(
            run_id=run.id,
            kind=item.kind,
            status=db.RunStatus(run.status),
            progress=progress_of(run),
            message=item.message,
            position=None if item.position is None else position_of(item.position),
        )
        for item in announcements
    ]
    if not events:
        return []
    seqs = await bus.publish_many(events[0].stream, [event.to_wire() for event in events])
    for event, seq in zip(events, seqs, strict=True):
        await relay_member_event(bus, run, replace(event, seq=seq))
    return seqs


async def publish_run_event(
    bus: EventBus,
    run: db.Run,
    kind: contract.RunEventKind,
    *,
    message: str | None = None,
    position: db.Position | None = None,
) -> int:
    """Publishes one event (see publish_run_events); returns its seq."""
    return (await publish_run_events(bus, run, [Announcement(kind, message, position)]))[0]


async def follow_run_events(bus: EventBus, run_id: int, after_seq: int = 0) -> AsyncIterator[contract.RunEvent]:
    """The run's events after after_seq, replayed then live (see tasks/events.py); EventContractError on an
    event that does not follow the contract."""
    async with aclosing(bus.subscribe(contract.run_stream(run_id), after_seq)) as events:
        async for wire in events:
            yield contract.RunEvent.from_wire(wire)
