"""Live subscription events sent as one frame per (event, document, operation, variables) to every websocket
subscribed to them, instead of one GraphQL execution, one JSON encoding and one queue per subscriber.

A feed follows one stream (a run's, an arena's) for the whole process. Each subscriber first receives what
it missed one by one, through Strawberry as any subscription does (the replay after its afterSeq), until it
reaches the feed's position; then it joins the feed and its resolver returns: the websocket handler
(security/ws.py) keeps the operation open on the member's one future, while Strawberry's stream, the
resolver's frames and the ORM rows and context they held are let go (most of an idle subscription's memory).
The feed sends the member every later event: the selection is executed once for all subscribers sharing
the operation, the `next` message encoded once, and only the subscriber's operation id differs in what each
one is sent. The operation ends as before: after the stream's final event (then `complete`), or with the
error that ended the feed or the subscriber's token (then that error, as Strawberry would have sent it).

Only payload types whose fields depend on the event alone may be fed (see shared_events.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import ExecutionResult

from graphql_api.metrics import ACTIVE_SUBSCRIPTIONS
from graphql_api.security.response_size import oversized_response_error
from graphql_api.security.ws import LiveTarget, live_target, while_authorised
from tasks.event_contract import EventContractError
from tasks.events import EventBus

if TYPE_CHECKING:
    from graphql_api.auth import TokenClaims
    from graphql_api.context import RequestContext
    from graphql_api.security.token_watch import TokenWatch
    from graphql_api.shared_events import SharedEventExecutor

logger = logging.getLogger("aibt.events")


class Member:
    """One subscription fed by a feed: its frames' head, the future that ends its operation, and what it holds
    until then (its use of the feed, its token's watch and expiry, the active subscriptions gauge)."""

    __slots__ = ("after", "done", "feed", "group", "head", "releases", "socket")

    def __init__(self, feed: LiveFeed, group: Group, target: LiveTarget, after: int) -> None:
        self.feed = feed
        self.group = group
        self.socket = target.socket
        self.head = f'{{"id": {json.dumps(target.operation_id)}, "type": "next", "payload": '
        self.after = after  # events up to this seq were sent one by one
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.releases: list[Callable[[], None]] | None = [feed.release]  # None once closed
        ACTIVE_SUBSCRIPTIONS.inc()
        self.releases.append(ACTIVE_SUBSCRIPTIONS.dec)

    def watch_token(self, watch: TokenWatch, claims: TokenClaims) -> None:
        """Ends the operation when the app's token watch ends its token (expired, revoked, its user deleted
        or its password changed): as while_authorised does for a stream that is not fed."""
        token = watch.watch(claims)
        stop = token.on_end(self.finish)

        def release() -> None:
            stop()
            watch.unwatch(claims, token)

        if self.releases is None:  # closed already
            release()
        else:
            self.releases.append(release)

    async def wait(self) -> None:
        """The operation's fed life: returns after the stream's final event, raises what ended the feed or
        the token. The caller closes the member however this ends (a client's `complete` cancels it)."""
        await self.done

    def finish(self, error: BaseException | None = None) -> None:
        if not self.done.done():
            self.done.set_result(None) if error is None else self.done.set_exception(error)
        self.leave()

    def leave(self) -> None:
        self.group.members.discard(self)
        if not self.group.members:  # its executor (and the first member's context) are let go
            self.feed.groups.pop(self.group.key, None)

    def close(self) -> None:
        """Lets go of everything the member holds, once its operation has ended, however it ended."""
        self.leave()
        if self.done.done() and not self.done.cancelled():
            self.done.exception()  # an operation cancelled before it waited: no "never retrieved" warning
        releases, self.releases = self.releases, None
        for release in reversed(releases or []):
            release()


@dataclass(eq=False)
class Group:
    """The subscribers of one feed sharing a document, operation and variables: one execution per event."""

    key: tuple
    executor: SharedEventExecutor
    max_bytes: int
    members: set[Member] = field(default_factory=set)

    def frame_payload(self, payload: object) -> str:
        result = self.executor.build_per_event_executor(payload).execute_operation(False)
        if not isinstance(result, ExecutionResult) or result.errors:
            raise RuntimeError(f"a shared event's selection did not execute cleanly: {result!r}")
        encoded = json.dumps({"data": result.data})
        if len(encoded) > self.max_bytes:
            encoded = json.dumps({"data": None, "errors": [oversized_response_error(self.max_bytes)]})
        return encoded


class LiveFeed:
    """The process's one follower of one stream, sending each event to the groups subscribed to it."""

    def __init__(
        self,
        feeds: LiveFeeds,
        bus: EventBus,
        stream: str,
        follow: Follow,
        payload_of: PayloadOf,
        unreadable: Unreadable,
    ) -> None:
        self._feeds = feeds
        self._unreadable = unreadable
        self.stream = stream
        self.last_seq = 0  # the last event sent to the members
        self.groups: dict[tuple, Group] = {}
        self.users = 0  # subscriptions holding this feed, caught up or not
        self.ended: BaseException | bool = False  # True after the final event, or the error that ended it
        self._payload_of = payload_of
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(bus, follow), name=f"live-feed {stream}")

    def join(self, executor: SharedEventExecutor, max_bytes: int, target: LiveTarget, after: int) -> Member:
        key = executor.operation_key()
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(key, executor, max_bytes)
        member = Member(self, group, target, after)
        group.members.add(member)
        target.member = member
        if self.ended is not False:  # joined after the final event: nothing more will come
            member.finish(None if self.ended is True else self.ended)
        return member

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            self.close()

    def close(self) -> None:
        self._feeds.forget(self)
        self._task.cancel()

    async def _run(self, bus: EventBus, follow: Follow) -> None:
        error: Exception | None = None
        try:
            self.last_seq = await bus.last_seq(self.stream)
            self.started.set_result(None)
            async with contextlib.aclosing(follow(self.last_seq)) as events:
                async for event in events:
                    await self._send(event)
                    if getattr(event, "is_terminal", False):
                        break
        except asyncio.CancelledError:
            self._end(None)
            raise
        except EventContractError as exc:  # an unreadable event: every member ends with it
            error = self._unreadable(exc)
        except Exception as exc:  # Redis gone past its grace: every member ends with it
            error = exc
        self._end(error)

    async def _send(self, event: Any) -> None:
        seq = event.seq
        self.last_seq = seq  # members joining from now on have been sent this one
        payload = self._payload_of(event)
        for group in list(self.groups.values()):
            members = [member for member in group.members if member.after < seq]
            if not members:
                continue
            frame_payload = group.frame_payload(payload)
            for member in members:
                try:
                    await member.socket.send_text(f"{member.head}{frame_payload}}}")
                except Exception:  # the socket is gone; its handler ends the operation
                    member.leave()

    def _end(self, error: BaseException | None) -> None:
        self.ended = error or True
        self._feeds.forget(self)
        if not self.started.done():
            self.started.set_exception(error or RuntimeError("the feed stopped before it started"))
        for group in list(self.groups.values()):  # finishing the last member of a group removes the group
            for member in list(group.members):
                member.finish(error)
        self.groups.clear()


Follow = Callable[[int], AsyncIterator[Any]]
PayloadOf = Callable[[Any], Any]
Unreadable = Callable[[EventContractError], Exception]  # what a stream's subscribers are told of an unreadable event


class LiveFeeds:
    """The feeds of one app: at most one per stream."""

    def __init__(self) -> None:
        self._feeds: dict[str, LiveFeed] = {}

    async def feed(
        self, bus: EventBus, stream: str, follow: Follow, payload_of: PayloadOf, unreadable: Unreadable
    ) -> LiveFeed:
        feed = self._feeds.get(stream)
        if feed is None:
            feed = self._feeds[stream] = LiveFeed(self, bus, stream, follow, payload_of, unreadable)
        feed.users += 1
        try:
            await asyncio.shield(feed.started)
        except BaseException:
            feed.release()
            raise
        return feed

    def forget(self, feed: LiveFeed) -> None:
        if self._feeds.get(feed.stream) is feed:
            del self._feeds[feed.stream]


async def live_events(
    context: RequestContext,
    bus: EventBus,
    stream: str,
    follow: Follow,
    payload_of: PayloadOf,
    after_seq: int,
    unreadable: Unreadable,
) -> AsyncIterator[Any]:
    """The payloads a subscription yields itself: all of them off a websocket, or until it reaches its
    stream's feed; then it joins the feed and returns, and the websocket handler keeps the operation open on
    the member (see the module's doc). Ends after the stream's final event."""
    try:
        target, executor = live_target.get(), context.event_executor
        if target is None or executor is None or executor.operation_key() is None:
            async for event in while_authorised(context, follow(after_seq)):
                yield payload_of(event)
                if getattr(event, "is_terminal", False):
                    return
            return
        _, claims = await context.require_auth()
        feed = await context.services.feeds.feed(bus, stream, follow, payload_of, unreadable)
        max_bytes = context.security.config.max_response_bytes
        member: Member | None = None
        last = after_seq
        try:
            if last >= feed.last_seq:
                member = feed.join(executor, max_bytes, target, last)
            else:
                async with contextlib.aclosing(while_authorised(context, follow(last))) as events:
                    async for event in events:
                        yield payload_of(event)
                        last = event.seq
                        if getattr(event, "is_terminal", False):
                            return
                        if last >= feed.last_seq:  # caught up: no await between this check and joining
                            member = feed.join(executor, max_bytes, target, last)
                            break
        finally:
            if member is None:  # a joined member holds the feed until its operation ends
                feed.release()
        if member is not None:
            member.watch_token(context.security.token_watch, claims)
    except EventContractError as exc:
        raise unreadable(exc) from exc
