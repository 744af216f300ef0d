"""Event streams with gap-free sequence numbers, live fan-out and a bounded replay log.

Every run and every conversation has a stream. Publishing assigns the next seq, appends the event to
the stream's replay log and announces it to live listeners, all in one step, so the order of seqs,
of the log and of live delivery agree. A subscriber listens first, then replays the log after its
afterSeq, then follows live events, skipping what it has seen and re-reading the log if it falls
behind: no gap and no duplicate.

Two buses share this contract: Redis (production: any API replica sees any worker's events) and an
in-process bus (embedded mode).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import redis.asyncio as aioredis

logger = logging.getLogger("aibt.events")

REPLAY_LIMIT = 20_000  # events kept per stream; a 252-day run with ten tickers stays well under it
SUBSCRIBER_QUEUE = 1_000  # live events buffered per subscriber before it re-reads the log


class EventBus(Protocol):
    async def publish(self, stream: str, event: dict[str, Any]) -> int: ...
    def subscribe(self, stream: str, after_seq: int = 0) -> AsyncIterator[dict[str, Any]]: ...
    async def replay(self, stream: str, after_seq: int = 0) -> list[dict[str, Any]]: ...
    async def last_seq(self, stream: str) -> int: ...
    async def delete(self, stream: str) -> None: ...
    async def close(self) -> None: ...


class _Listener:
    """A subscriber's live queue; overflowing marks it behind, so it re-reads the replay log."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self.behind = False
        self.wakeup = asyncio.Event()

    def offer(self, event: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.behind = True
        self.wakeup.set()


async def _follow(bus: EventBus, stream: str, after_seq: int, listener: _Listener) -> AsyncIterator[dict[str, Any]]:
    """Replays after after_seq, then yields live events in seq order, refilling gaps from the log."""
    last = after_seq
    for event in await bus.replay(stream, last):
        last = event["seq"]
        yield event
    while True:
        if listener.behind:
            listener.behind = False
            _drain(listener.queue)
            for event in await bus.replay(stream, last):
                last = event["seq"]
                yield event
            continue
        if listener.queue.empty():
            # No await between the check and the clear, so no offer can slip in unseen.
            listener.wakeup.clear()
            await listener.wakeup.wait()
            continue
        event = listener.queue.get_nowait()
        if event["seq"] <= last:
            continue
        if event["seq"] > last + 1:  # missed something live: the log has it
            for missed in await bus.replay(stream, last):
                if missed["seq"] >= event["seq"]:
                    break
                last = missed["seq"]
                yield missed
        last = event["seq"]
        yield event


def _drain(queue: asyncio.Queue) -> None:
    while not queue.empty():
        queue.get_nowait()


class InProcessEventBus:
    """Embedded mode: streams live in this process's memory."""

    def __init__(self, replay_limit: int = REPLAY_LIMIT) -> None:
        self._logs: dict[str, deque[dict[str, Any]]] = defaultdict(lambda: deque(maxlen=replay_limit))
        self._seqs: dict[str, int] = defaultdict(int)
        self._listeners: dict[str, set[_Listener]] = defaultdict(set)

    async def publish(self, stream: str, event: dict[str, Any]) -> int:
        self._seqs[stream] += 1
        stamped = {**event, "seq": self._seqs[stream]}
        self._logs[stream].append(stamped)
        for listener in list(self._listeners[stream]):
            listener.offer(stamped)
        return stamped["seq"]

    async def replay(self, stream: str, after_seq: int = 0) -> list[dict[str, Any]]:
        return [e for e in self._logs.get(stream, ()) if e["seq"] > after_seq]

    async def last_seq(self, stream: str) -> int:
        return self._seqs.get(stream, 0)

    async def delete(self, stream: str) -> None:
        self._logs.pop(stream, None)

    async def subscribe(self, stream: str, after_seq: int = 0) -> AsyncIterator[dict[str, Any]]:
        listener = _Listener()
        self._listeners[stream].add(listener)
        try:
            async for event in _follow(self, stream, after_seq, listener):
                yield event
        finally:
            self._listeners[stream].discard(listener)
            if not self._listeners[stream]:
                self._listeners.pop(stream, None)

    async def close(self) -> None:
        self._listeners.clear()


# Seq, log append and announcement in one atomic step.
_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'seq', seq, 'data', ARGV[1])
redis.call('PUBLISH', KEYS[3], seq .. '|' .. ARGV[1])
return seq
"""


class RedisEventBus:
    """Production: a Redis stream per event stream as the replay log, pub/sub for live fan-out.

    One pub/sub connection per process serves every subscriber through bounded queues.
    """

    def __init__(self, url: str, *, prefix: str = "aibt:", replay_limit: int = REPLAY_LIMIT) -> None:
        self._redis = aioredis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._replay_limit = replay_limit
        self._publish_script = self._redis.register_script(_PUBLISH)
        self._pubsub: aioredis.client.PubSub | None = None
        self._reader: asyncio.Task | None = None
        self._listeners: dict[str, set[_Listener]] = defaultdict(set)
        self._lock = asyncio.Lock()

    def _keys(self, stream: str) -> tuple[str, str, str]:
        base = f"{self._prefix}events:{stream}"
        return f"{base}:seq", f"{base}:log", f"{base}:live"

    async def publish(self, stream: str, event: dict[str, Any]) -> int:
        payload = json.dumps(event, default=str, separators=(",", ":"))
        return int(await self._publish_script(keys=list(self._keys(stream)), args=[payload, self._replay_limit]))

    async def replay(self, stream: str, after_seq: int = 0) -> list[dict[str, Any]]:
        entries = await self._redis.xrange(self._keys(stream)[1])
        events = ({**json.loads(fields["data"]), "seq": int(fields["seq"])} for _, fields in entries)
        return [e for e in events if e["seq"] > after_seq]

    async def last_seq(self, stream: str) -> int:
        value = await self._redis.get(self._keys(stream)[0])
        return int(value or 0)

    async def delete(self, stream: str) -> None:
        await self._redis.delete(*self._keys(stream)[:2])

    async def subscribe(self, stream: str, after_seq: int = 0) -> AsyncIterator[dict[str, Any]]:
        listener = _Listener()
        channel = self._keys(stream)[2]
        await self._listen(channel, listener)
        try:
            async for event in _follow(self, stream, after_seq, listener):
                yield event
        finally:
            await self._unlisten(channel, listener)

    async def _listen(self, channel: str, listener: _Listener) -> None:
        async with self._lock:
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            if channel not in self._listeners:
                await self._pubsub.subscribe(channel)
            self._listeners[channel].add(listener)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(), name="aibt-events-reader")

    async def _unlisten(self, channel: str, listener: _Listener) -> None:
        async with self._lock:
            listeners = self._listeners.get(channel)
            if listeners is None:
                return
            listeners.discard(listener)
            if not listeners:
                del self._listeners[channel]
                if self._pubsub is not None:
                    await self._pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        """The process's single pub/sub reader, handing each message to its channel's listeners."""
        assert self._pubsub is not None
        while self._listeners:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (aioredis.ConnectionError, OSError) as exc:
                logger.warning("event pub/sub connection lost (%r); listeners will re-read the log", exc)
                await self._mark_all_behind_and_resubscribe()
                continue
            if message is None or message.get("type") != "message":
                continue
            seq, _, data = message["data"].partition("|")
            event = {**json.loads(data), "seq": int(seq)}
            for listener in list(self._listeners.get(message["channel"], ())):
                listener.offer(event)

    async def _mark_all_behind_and_resubscribe(self) -> None:
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.behind = True
                listener.wakeup.set()
        await asyncio.sleep(0.5)
        try:
            if self._pubsub is not None and self._listeners:
                await self._pubsub.subscribe(*self._listeners)
        except (aioredis.ConnectionError, OSError):
            pass

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._pubsub is not None:
            await self._pubsub.aclose()
        await self._redis.aclose()


@asynccontextmanager
async def event_bus(redis_url: str | None, prefix: str = "aibt:") -> AsyncIterator[EventBus]:
    bus: EventBus = RedisEventBus(redis_url, prefix=prefix) if redis_url else InProcessEventBus()
    try:
        yield bus
    finally:
        await bus.close()
