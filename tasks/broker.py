"""The Dramatiq broker, set when this module is imported: tasks/actors.py imports it before it declares any
actor, as Dramatiq's own set-up does.

With REDIS_URL the broker is Redis and any number of `aibt worker` processes take runs from it.
Without it (embedded mode) runs never reach Dramatiq: tasks.dispatch runs them in the API process.
This module imports nothing of tasks/: the actors and what boots a worker build on it, not the reverse.
"""

from __future__ import annotations

import dramatiq
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name
from dramatiq.middleware import AsyncIO

from db_models.settings import get_settings


def build_broker() -> dramatiq.Broker:
    settings = get_settings()
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = RedisBroker(url=settings.redis_url, namespace=f"{settings.redis_prefix}dramatiq")
    else:
        broker = StubBroker()
    broker.add_middleware(AsyncIO())  # before any actor is declared: the actors are async
    return broker


broker = build_broker()
dramatiq.set_broker(broker)


def held_first_arguments(redis_broker: RedisBroker, queue_name: str) -> set[int]:
    """The first argument of every message the Redis broker holds for a queue, waiting, delayed or being
    worked on: it keeps a message (in `<namespace>:<queue>.msgs`) from enqueue until acknowledgement."""
    held: set[int] = set()
    for name in (queue_name, dq_name(queue_name)):
        for raw in redis_broker.client.hvals(f"{redis_broker.namespace}:{name}.msgs"):
            held.add(int(Message.decode(raw).args[0]))
    return held
