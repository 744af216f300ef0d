"""priceFetchEvents: replay after afterSeq, then live events, ending after the job's final event."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator

import strawberry

from db_models.accounts import Role, User
from db_models.price_fetches import ACTIVE_FETCH_STATUSES
from graphql_api.context import AppInfo
from graphql_api.errors import BadUserInput, Forbidden, UnreadableEvent
from graphql_api.metrics import active_subscription
from graphql_api.price_fetches.service import get_job
from graphql_api.price_fetches.types import PriceFetchEvent
from graphql_api.security.ws import while_authorised
from tasks.event_contract import price_fetch_stream
from tasks.event_wire import EventContractError
from tasks.price_fetch_events import follow_fetch_events

logger = logging.getLogger("aibt.price_fetch")


@strawberry.type
class PriceFetchSubscriptions:
    @strawberry.subscription(
        description="Admin only: live events of a price fetch job. With afterSeq, first replays every retained "
        "event with a larger seq, with no gap or duplicate. Ends after COMPLETED, FAILED or CANCELLED."
    )
    async def price_fetch_events(
        self, info: AppInfo, job_id: strawberry.ID, after_seq: int | None = None
    ) -> AsyncGenerator[PriceFetchEvent, None]:
        admin = await info.context.require_admin()
        job = await get_job(job_id)
        if after_seq is not None and after_seq < 0:
            raise BadUserInput("afterSeq must be 0 or more.", field="afterSeq")
        bus = info.context.services.require_bus()
        if job.status not in ACTIVE_FETCH_STATUSES and not await bus.replay(price_fetch_stream(job.id), after_seq or 0):
            return  # finished, and nothing retained after afterSeq
        with active_subscription():
            try:
                events = follow_fetch_events(bus, job.id, after_seq or 0)
                async for event in while_authorised(info.context, events):
                    if not await User.filter(id=admin.id, role=Role.ADMIN).exists():
                        raise Forbidden("Only an admin may do this.")  # demoted while subscribed
                    yield PriceFetchEvent.from_event(event)
                    if event.is_terminal:
                        return
            except EventContractError as exc:
                logger.error("price fetch job %s: an event on its stream breaks the event contract: %s", job.id, exc)
                raise UnreadableEvent(f"An event of this job cannot be read: {exc}") from exc
