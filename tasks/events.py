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
import contextlib
import json
import logging
import uuid
from collections import OrderedDict, defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("aibt.events")

REPLAY_LIMIT = 20_000  # events kept per stream; a 252-day run with ten tickers stays well under it
SUBSCRIBER_QUEUE = 1_000  # live events buffered per subscriber before it re-reads the log
PUBLISH_RETRY_SECONDS = 60.0  # a publisher outlasts a Redis restart this long before giving up
OUTAGE_GRACE_SECONDS = 30.0  # live subscribers wait this long for Redis to return, then end UNAVAILABLE
KNOWN_SEQS = 10_000  # streams whose last seq a publisher remembers, to survive Redis losing its data
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


class EventBus(Protocol):
    async def publish(self, stream: str, event: dict[str, Any]) -> int: ...
    async def publish_many(self, stream: str, events: list[dict[str, Any]]) -> list[int]: ...
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
        self.error: BaseException | None = None  # set when the live feed is gone for good
        self.wakeup = asyncio.Event()

    def mark_behind(self) -> None:
        self.behind = True
        self.wakeup.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.wakeup.set()

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
        if listener.error is not None:
            raise listener.error
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
        return (await self.publish_many(stream, [event]))[0]

    async def publish_many(self, stream: str, events: list[dict[str, Any]]) -> list[int]:
        seqs = []
        for event in events:
            self._seqs[stream] += 1
            stamped = {**event, "seq": self._seqs[stream]}
            self._logs[stream].append(stamped)
            for listener in list(self._listeners[stream]):
                listener.offer(stamped)
            seqs.append(stamped["seq"])
        return seqs

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


# Seqs, log appends and announcements of one or more events in one atomic step (one round trip); returns
# the last seq. ARGV[4...] are the events. ARGV[2] is the publish's id: a retry of a publish that Redis ran
# but whose answer was lost gets the seqs it already has instead of second events. ARGV[3] is the last seq
# this publisher saw on the stream: if Redis restarted empty, seqs go on from there instead of starting
# again at 1 (subscribers skip seqs they have seen).
_PUBLISH = """
local last = redis.call('GET', KEYS[4])
if last then
  local sep = string.find(last, '|', 1, true)
  if string.sub(last, 1, sep - 1) == ARGV[2] then return tonumber(string.sub(last, sep + 1)) end
end
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[3]) then redis.call('SET', KEYS[1], ARGV[3]) end
local seq = 0
for i = 4, #ARGV do
  seq = redis.call('INCR', KEYS[1])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'seq', seq, 'data', ARGV[i])
  redis.call('PUBLISH', KEYS[3], seq .. '|' .. ARGV[i])
end
redis.call('SET', KEYS[4], ARGV[2] .. '|' .. seq)
return seq
"""


class RedisEventBus:
    """Production: a Redis stream per event stream as the replay log, pub/sub for live fan-out.

    One pub/sub connection per process serves every subscriber through bounded queues. When Redis goes
    away, publishes retry for up to publish_retry_seconds (0: fail at once, as a request should) and live
    subscribers wait for it; once it is back, every subscriber re-reads the log, so none misses an event.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "aibt:",
        replay_limit: int = REPLAY_LIMIT,
        publish_retry_seconds: float = PUBLISH_RETRY_SECONDS,
        outage_grace_seconds: float = OUTAGE_GRACE_SECONDS,
    ) -> None:
        # A few quick reconnection attempts per command; longer outages are handled here, not in the client.
        self._redis = aioredis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=10,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 3),
        )
        self._prefix = prefix
        self._replay_limit = replay_limit
        self._publish_retry_seconds = publish_retry_seconds
        self._outage_grace_seconds = outage_grace_seconds
        self._known_seqs: OrderedDict[str, int] = OrderedDict()
        self._publish_script = self._redis.register_script(_PUBLISH)
        self._pubsub: aioredis.client.PubSub | None = None
        self._reader: asyncio.Task | None = None
        self._listeners: dict[str, set[_Listener]] = defaultdict(set)
        self._lock = asyncio.Lock()

    def _keys(self, stream: str) -> tuple[str, str, str]:
        base = f"{self._prefix}events:{stream}"
        return f"{base}:seq", f"{base}:log", f"{base}:live"

    def _remember(self, stream: str, seq: int) -> None:
        self._known_seqs[stream] = max(seq, self._known_seqs.get(stream, 0))
        self._known_seqs.move_to_end(stream)
        while len(self._known_seqs) > KNOWN_SEQS:
            self._known_seqs.popitem(last=False)

    async def publish(self, stream: str, event: dict[str, Any]) -> int:
        return (await self.publish_many(stream, [event]))[0]

    async def publish_many(self, stream: str, events: list[dict[str, Any]]) -> list[int]:
        """Publishes the events in order with consecutive seqs, in one round trip; returns their seqs."""
        if not events:
            return []
        payloads = [json.dumps(event, default=str, separators=(",", ":")) for event in events]
        keys = [*self._keys(stream), f"{self._prefix}events:{stream}:last"]
        publish_id = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_retry_seconds
        delay = 0.1
        while True:
            try:
                args = [self._replay_limit, publish_id, self._known_seqs.get(stream, 0), *payloads]
                seq = int(await self._publish_script(keys=keys, args=args))
            except REDIS_DOWN as exc:
                if loop.time() + delay > deadline:
                    raise
                logger.warning("publishing on %s failed (%r); retrying in %.1fs", stream, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            self._remember(stream, seq)
            return list(range(seq - len(events) + 1, seq + 1))

    async def replay(self, stream: str, after_seq: int = 0) -> list[dict[str, Any]]:
        entries = await self._redis.xrange(self._keys(stream)[1])
        events = ({**json.loads(fields["data"]), "seq": int(fields["seq"])} for _, fields in entries)
        return [e for e in events if e["seq"] > after_seq]

    async def last_seq(self, stream: str) -> int:
        value = await self._redis.get(self._keys(stream)[0])
        return int(value or 0)

    async def delete(self, stream: str) -> None:
        await self._redis.delete(*self._keys(stream)[:2], f"{self._prefix}events:{stream}:last")
        self._known_seqs.pop(stream, None)

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
                # Subscribe confirmations are kept: each one (first or after a reconnection) makes the
                # channel's listeners re-read the log, closing the window before Redis listened for them.
                self._pubsub = self._redis.pubsub(ignore_subscribe_messages=False)
            if channel not in self._listeners:
                await self._pubsub.subscribe(channel)
                connection = self._pubsub.connection
                if connection is not None:  # a no-op when already registered
                    connection.register_connect_callback(self._on_reconnect)
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
                    # On failure the reconnection resubscribes it; its confirmation finds no listener and drops it.
                    with contextlib.suppress(*REDIS_DOWN):
                        await self._pubsub.unsubscribe(channel)

    async def _on_reconnect(self, _connection: object) -> None:
        logger.info("event pub/sub reconnected; %s channels resubscribed", len(self._listeners))

    async def _read(self) -> None:
        """The process's single pub/sub reader, handing each message to its channel's listeners.

        Redis going away does not end a subscription: the reader reconnects (the client resubscribes
        every channel) and each resubscription makes that channel's listeners re-read the log, so what
        was published meanwhile arrives once and in order. Only an outage longer than the grace ends the
        subscriptions, with the connection error (UNAVAILABLE to clients).
        """
        assert self._pubsub is not None
        loop = asyncio.get_running_loop()
        down_since: float | None = None
        delay = 0.1
        while self._listeners:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except REDIS_DOWN as exc:
                now = loop.time()
                if down_since is None:
                    down_since = now
                    logger.warning("event pub/sub connection lost (%r); waiting for Redis", exc)
                if now - down_since > self._outage_grace_seconds:
                    self._fail_all(exc)
                    down_since = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if down_since is not None:
                logger.info("event pub/sub connection restored after %.1fs", loop.time() - down_since)
                down_since, delay = None, 0.1
            if message is None:
                continue
            kind = message.get("type")
            if kind == "subscribe":
                await self._on_subscribed(message["channel"])
                continue
            if kind != "message":
                continue
            seq, _, data = message["data"].partition("|")
            event = {**json.loads(data), "seq": int(seq)}
            for listener in list(self._listeners.get(message["channel"], ())):
                listener.offer(event)

    async def _on_subscribed(self, channel: str) -> None:
        listeners = self._listeners.get(channel)
        if listeners:
            for listener in listeners:
                listener.mark_behind()
            return
        try:  # resubscribed after a reconnection, but nobody listens any more
            async with self._lock:
                if channel not in self._listeners and self._pubsub is not None:
                    await self._pubsub.unsubscribe(channel)
        except REDIS_DOWN:
            pass

    def _fail_all(self, error: BaseException) -> None:
        logger.error(
            "Redis stayed unreachable for over %.0fs; ending %s live subscriptions",
            self._outage_grace_seconds,
            sum(len(v) for v in self._listeners.values()),
        )
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.fail(error)

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
