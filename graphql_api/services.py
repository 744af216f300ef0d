"""Process-wide services the resolvers use, filled in when the app starts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from graphql_api.live_feeds import LiveFeeds
from tasks.dispatch import Dispatcher
from tasks.events import EventBus


@dataclass
class Services:
    bus: EventBus | None = None
    dispatcher: Dispatcher | None = None
    reaper: asyncio.Task | None = None
    feeds: LiveFeeds = field(default_factory=LiveFeeds)

    def require_bus(self) -> EventBus:
        if self.bus is None:
            raise RuntimeError("The event bus has not started.")
        return self.bus

    def require_dispatcher(self) -> Dispatcher:
        if self.dispatcher is None:
            raise RuntimeError("The run dispatcher has not started.")
        return self.dispatcher
