"""Event streams: contiguous seqs, replay after afterSeq, live delivery, no gap and no duplicate."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from tasks import events
from tasks.events import InProcessEventBus, RedisEventBus

REDIS_URL = os.environ.get("AIBT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest_asyncio.fixture(params=["in-process", "redis"])
async def buses(request):
    """A publishing bus and a subscribing bus; for Redis, two separate clients as two processes would have."""
    if request.param == "in-process":
        bus = InProcessEventBus()
        yield bus, bus
        return
    prefix = f"aibt-test-{uuid.uuid4().hex[:8]}:"
    publisher, subscriber = RedisEventBus(REDIS_URL, prefix=prefix), RedisEventBus(REDIS_URL, prefix=prefix)
    try:
        yield publisher, subscriber
    finally:
        await publisher.close()
        await subscriber.close()
        client = aioredis.from_url(REDIS_URL)
        keys = [k async for k in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def take(iterator, count: int, timeout: float = 5) -> list[dict]:
    async def collect():
        return [await anext(iterator) for _ in range(count)]

    return await asyncio.wait_for(collect(), timeout)


async def test_seqs_start_at_one_and_rise_by_one(buses):
    publisher, _ = buses
    seqs = [await publisher.publish("run:1", {"kind": "PROGRESS", "n": n}) for n in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert await publisher.last_seq("run:1") == 5


async def test_events_published_together_get_consecutive_seqs_and_arrive_live_in_order(buses):
    publisher, subscriber = buses
    await publisher.publish("run:3", {"n": 0})
    live = subscriber.subscribe("run:3", after_seq=1)
    waiting = asyncio.ensure_future(take(live, 3))
    await asyncio.sleep(0.2)  # subscribed before the batch is published
    assert await publisher.publish_many("run:3", [{"n": 1}, {"n": 2}, {"n": 3}]) == [2, 3, 4]
    assert [(e["seq"], e["n"]) for e in await waiting] == [(2, 1), (3, 2), (4, 3)]
    await live.aclose()
    assert [e["n"] for e in await subscriber.replay("run:3")] == [0, 1, 2, 3]
    assert await publisher.publish_many("run:3", []) == []
    assert await publisher.publish("run:3", {"n": 4}) == 5


async def test_streams_are_independent(buses):
    publisher, _ = buses
    await publisher.publish("run:1", {"n": 1})
    assert await publisher.publish("run:2", {"n": 1}) == 1


async def test_a_subscriber_replays_after_its_seq_then_follows_live_events(buses):
    publisher, subscriber = buses
    for n in range(1, 6):
        await publisher.publish("run:7", {"n": n})
    stream = subscriber.subscribe("run:7", after_seq=2)
    replayed = await take(stream, 3)
    assert [e["seq"] for e in replayed] == [3, 4, 5]
    assert [e["n"] for e in replayed] == [3, 4, 5]
    for n in range(6, 9):
        await publisher.publish("run:7", {"n": n})
    live = await take(stream, 3)
    assert [e["seq"] for e in live] == [6, 7, 8]
    await stream.aclose()


async def test_events_published_while_replaying_arrive_once_and_in_order(buses):
    publisher, subscriber = buses

    async def publish_many():
        for n in range(200):
            await publisher.publish("run:9", {"n": n})
            if n % 20 == 0:
                await asyncio.sleep(0)

    for n in range(50):
        await publisher.publish("run:9", {"pre": n})
    stream = subscriber.subscribe("run:9")
    producer = asyncio.create_task(publish_many())
    received = await take(stream, 250, timeout=15)
    await producer
    assert [e["seq"] for e in received] == list(range(1, 251))
    await stream.aclose()


async def test_a_subscriber_that_falls_behind_catches_up_from_the_log(buses, monkeypatch):
    publisher, subscriber = buses
    monkeypatch.setattr(events, "SUBSCRIBER_QUEUE", 5)
    stream = subscriber.subscribe("run:11")
    first = asyncio.create_task(take(stream, 1))
    await asyncio.sleep(0.2)  # the subscription is listening
    for n in range(100):
        await publisher.publish("run:11", {"n": n})
    received = [*(await first), *(await take(stream, 99, timeout=15))]
    assert [e["seq"] for e in received] == list(range(1, 101))
    await stream.aclose()


async def test_many_subscribers_each_get_every_event(buses):
    publisher, subscriber = buses
    streams = [subscriber.subscribe("run:13") for _ in range(20)]
    waiting = [asyncio.create_task(take(s, 30, timeout=15)) for s in streams]
    await asyncio.sleep(0.3)
    for n in range(30):
        await publisher.publish("run:13", {"n": n})
    for result in await asyncio.gather(*waiting):
        assert [e["seq"] for e in result] == list(range(1, 31))
    for s in streams:
        await s.aclose()


async def test_the_replay_log_is_bounded(buses):
    publisher, _ = buses
    if isinstance(publisher, RedisEventBus):
        publisher._replay_limit = 100
    else:
        publisher._logs.clear()
        publisher.__init__(replay_limit=100)
    for n in range(1000):
        await publisher.publish("run:15", {"n": n})
    kept = await publisher.replay("run:15")
    assert len(kept) <= 250  # Redis trims approximately
    assert kept[-1]["seq"] == 1000
    assert [e["seq"] for e in kept] == list(range(kept[0]["seq"], 1001))


@pytest.mark.parametrize("stream", ["run:17"])
async def test_deleting_a_stream_drops_its_log(buses, stream):
    publisher, _ = buses
    await publisher.publish(stream, {"n": 1})
    await publisher.delete(stream)
    assert await publisher.replay(stream) == []
