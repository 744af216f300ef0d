"""runEvents: replay after afterSeq, then live events (graphql_api/live_feeds.py), ending after the final one."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator

import strawberry

from db_models.runs import ACTIVE_STATUSES
from graphql_api.context import AppInfo
from graphql_api.errors import BadUserInput, UnreadableEvent
from graphql_api.live_feeds import live_events
from graphql_api.metrics import active_subscription
from graphql_api.runs.service import get_owned_run
from graphql_api.runs.types import RunEvent
from tasks.event_contract import EventContractError, run_stream
from tasks.run_events import follow_run_events

logger = logging.getLogger("aibt.runs")


@strawberry.type
class RunSubscriptions:
    @strawberry.subscription(
        description="Live events of a run. With afterSeq, first replays every retained event "
        "with a larger seq, with no gap or duplicate. Ends after the run's final event."
    )
    async def run_events(
        self, info: AppInfo, run_id: strawberry.ID, after_seq: int | None = None
    ) -> AsyncGenerator[RunEvent, None]:
        user = await info.context.require_user()
        run = await get_owned_run(user, run_id)
        if after_seq is not None and after_seq < 0:
            raise BadUserInput("afterSeq must be 0 or more.", field="afterSeq")
        bus = info.context.services.require_bus()
        if run.status not in ACTIVE_STATUSES and not await bus.replay(run_stream(run.id), after_seq or 0):
            return  # finished, and nothing retained after afterSeq: the stream is already complete
        run_pk = run.id  # the feed (which outlives this resolver) keeps the follow function, not the row

        def unreadable(exc: EventContractError) -> UnreadableEvent:
            logger.error("run %s: an event on its stream breaks the event contract: %s", run_pk, exc)
            return UnreadableEvent(f"An event of this run cannot be read: {exc}")

        with active_subscription():
            async for event in live_events(
                info.context,
                bus,
                run_stream(run_pk),
                lambda after: follow_run_events(bus, run_pk, after),
                RunEvent.from_event,
                after_seq or 0,
                unreadable,
            ):
                yield event
