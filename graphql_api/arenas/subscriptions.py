"""arenaEvents: every member run's events in one gap-free seq, resumable, ending after ENDED."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator

import strawberry

from graphql_api.arenas.service import get_owned_arena
from graphql_api.arenas.types import ArenaEvent
from graphql_api.context import AppInfo
from graphql_api.errors import BadUserInput, UnreadableEvent
from graphql_api.live_feeds import live_events
from graphql_api.metrics import active_subscription
from tasks.arena_events import follow_arena_events
from tasks.event_contract import EventContractError, arena_stream

logger = logging.getLogger("aibt.arenas")


@strawberry.type
class ArenaSubscriptions:
    @strawberry.subscription(
        description="Live events of every run of an arena, each tagged with its run, in one seq. With afterSeq, "
        "first replays every retained event with a larger seq, with no gap or duplicate. Ends after ENDED, "
        "which follows the final event of every run."
    )
    async def arena_events(
        self, info: AppInfo, arena_id: strawberry.ID, after_seq: int | None = None
    ) -> AsyncGenerator[ArenaEvent, None]:
        user = await info.context.require_user()
        arena = await get_owned_arena(user, arena_id)
        if after_seq is not None and after_seq < 0:
            raise BadUserInput("afterSeq must be 0 or more.", field="afterSeq")
        bus = info.context.services.require_bus()
        if arena.ended_at is not None and not await bus.replay(arena_stream(arena.id), after_seq or 0):
            return  # ended, and nothing retained after afterSeq: the stream is already complete
        arena_pk = arena.id  # the feed (which outlives this resolver) keeps the follow function, not the row

        def unreadable(exc: EventContractError) -> UnreadableEvent:
            logger.error("arena %s: an event on its stream breaks the event contract: %s", arena_pk, exc)
            return UnreadableEvent(f"An event of this arena cannot be read: {exc}")

        with active_subscription():
            async for event in live_events(
                info.context,
                bus,
                arena_stream(arena_pk),
                lambda after: follow_arena_events(bus, arena_pk, after),
                ArenaEvent.from_event,
                after_seq or 0,
                unreadable,
            ):
                yield event
