"""An arena's event stream: every member run's events again, tagged with their run, in one gap-free seq.

Each member event is published on the run's own stream first, then on the arena's with the run's id and
the seq it got there. After a member's final event is on the arena's stream, the run is marked so; the
publisher that finds every member marked (and wins the arena's end) stores the arena's baselines, then
publishes ENDED, the arena's last event. Marking after publishing means ENDED can only follow every
member's final event, however the members' workers interleave.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from db_models.arenas import Arena, arena_status
from db_models.baselines import store_arena_baselines
from db_models.runs import Run
from tasks.events import EventBus

logger = logging.getLogger("aibt.arenas")

ENDED = "ENDED"
MEMBER = "RUN"


def arena_stream(arena_id: int) -> str:
    return f"arena:{arena_id}"


async def relay_member_event(bus: EventBus, run: Run, event: dict[str, Any], run_seq: int, *, final: bool) -> None:
    """Publishes a member run's event (already on the run's stream at run_seq) on its arena's stream."""
    if run.arena_id is None:
        return
    await bus.publish(
        arena_stream(run.arena_id),
        {"kind": MEMBER, "arenaId": run.arena_id, "runId": run.id, "runSeq": run_seq, "event": event, "at": _now()},
    )
    if final:
        await Run.filter(id=run.id).update(arena_end_announced=True)
        await end_arena_if_done(bus, run.arena_id)


async def end_arena_if_done(bus: EventBus, arena_id: int) -> bool:
    """Ends the arena once every member's final event is on its stream; True for the one caller that did."""
    if await Run.filter(arena_id=arena_id, arena_end_announced=False).exists():
        return False
    now = dt.datetime.now(dt.UTC)
    if not await Arena.filter(id=arena_id, ended_at__isnull=True).update(ended_at=now):
        return False  # another member's publisher ended it
    arena = await Arena.get(id=arena_id)
    members = await Run.filter(arena_id=arena_id).values_list("id", "status")
    try:
        await store_arena_baselines(arena, [run_id for run_id, _ in members])
    except Exception:  # the baselines are computed on read instead; the arena must still end
        logger.exception("arena %s: storing its baselines failed", arena_id)
    status = arena_status(status for _, status in members)
    await bus.publish(arena_stream(arena_id), {"kind": ENDED, "arenaId": arena_id, "status": str(status), "at": _now()})
    logger.info("arena %s ended: %s", arena_id, status)
    return True


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
