"""An arena's event stream: every member run's events again, tagged with their run, in one gap-free seq.

Each member event is published on the run's own stream first, then on the arena's, carrying the run's
event with the seq it got there. After a member's final event is on the arena's stream, the run is marked
so; the publisher that finds every member marked (and wins the arena's end) stores the arena's baselines,
then publishes ENDED, the arena's last event. Marking after publishing means ENDED can only follow every
member's final event, however the members' workers interleave.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing

from db_models.arenas import Arena, arena_status
from db_models.baselines import store_arena_baselines
from db_models.runs import Run
from tasks import event_contract as contract
from tasks.events import EventBus

logger = logging.getLogger("aibt.arenas")


async def relay_member_event(bus: EventBus, run: Run, event: contract.RunEvent) -> None:
    """Publishes a member run's event, already published on the run's stream, on its arena's stream."""
    if run.arena_id is None:
        return
    relayed = contract.ArenaEvent(arena_id=run.arena_id, kind=contract.ArenaEventKind.RUN, run_event=event)
    await bus.publish(relayed.stream, relayed.to_wire())
    if event.is_terminal:
        await Run.filter(id=run.id).update(arena_end_announced=True)
        await end_arena_if_done(bus, run.arena_id)


async def end_arena_if_done(bus: EventBus, arena_id: int) -> bool:
    """Ends the arena once every member's final event is on its stream; True for the one caller that did."""
    if await Run.filter(arena_id=arena_id, arena_end_announced=False).exists():
        return False
    if not await Arena.filter(id=arena_id, ended_at__isnull=True).update(ended_at=dt.datetime.now(dt.UTC)):
        return False  # another member's publisher ended it
    arena = await Arena.get(id=arena_id)
    members = await Run.filter(arena_id=arena_id).values_list("id", "status")
    try:
        await store_arena_baselines(arena, [run_id for run_id, _ in members])
    except Exception:  # the baselines are computed on read instead; the arena must still end
        logger.exception("arena %s: storing its baselines failed", arena_id)
    status = arena_status(status for _, status in members)
    ended = contract.ArenaEvent(arena_id=arena_id, kind=contract.ArenaEventKind.ENDED, status=status)
    await bus.publish(ended.stream, ended.to_wire())
    logger.info("arena %s ended: %s", arena_id, status)
    return True


async def follow_arena_events(bus: EventBus, arena_id: int, after_seq: int = 0) -> AsyncIterator[contract.ArenaEvent]:
    """The arena's events after after_seq, replayed then live (see tasks/events.py); EventContractError on
    an event that does not follow the contract."""
    async with aclosing(bus.subscribe(contract.arena_stream(arena_id), after_seq)) as events:
        async for wire in events:
            yield contract.ArenaEvent.from_wire(wire)
