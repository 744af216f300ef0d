"""The Dramatiq broker, set before any actor is declared.

With REDIS_URL the broker is Redis and any number of `aibt worker` processes take runs from it.
Without it (embedded mode) runs never reach Dramatiq: tasks.dispatch runs them in the API process.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from db_models.settings import get_settings
from tasks.worker_runtime import WorkerRuntime


def build_broker() -> dramatiq.Broker:
    settings = get_settings()
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = RedisBroker(url=settings.redis_url, namespace=f"{settings.redis_prefix}dramatiq")
    else:
        broker = StubBroker()
    broker.add_middleware(AsyncIO())
    broker.add_middleware(WorkerRuntime())
    return broker


broker = build_broker()
dramatiq.set_broker(broker)
