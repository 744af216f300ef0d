"""Live run events go out through one feed per stream (graphql_api/live_feeds.py): subscribers joining at
any point get every event once and in order, each in its own selection and under its own operation id, and
an operation the client completes gets no further frame, even when its id is used again at once."""

from __future__ import annotations

import asyncio
import gc
import json

from strawberry.types.execution import ExecutionContext

from db_models.accounts import User
from graphql_api.context import RequestContext
from graphql_api.live_feeds import LiveFeeds
from tasks.event_contract import RunEventKind, run_stream
from tasks.run_events import publish_run_event
from tests.support.ws_session import acked, active_run, event_bus, next_message, quiet, subscribe

NARROW = "subscription($id: ID!) { runEvents(runId: $id) { seq } }"
WIDE = "subscription($id: ID!, $after: Int) { runEvents(runId: $id, afterSeq: $after) { seq kind message } }"


def _feeds(app) -> LiveFeeds:
    graphql = next(route.endpoint for route in app.routes if getattr(route, "path", None) == "/graphql")
    return graphql.services.feeds


async def _events_until(socket, operation_id: str, last_seq: int) -> list[dict]:
    events = []
    while not events or events[-1]["seq"] < last_seq:
        message = await next_message(socket)
        assert message["type"] == "next" and message["id"] == operation_id, message
        events.append(message["payload"]["data"]["runEvents"])
    return events


async def test_subscribers_joining_while_events_flow_get_every_event_once_in_order(app, ws_url, user):
    run, run_id = await active_run(user)
    bus = event_bus(app)
    early = await acked(ws_url, user.token)
    late = [await acked(ws_url, user.token) for _ in range(3)]
    try:
        await subscribe(early, "early", NARROW, {"id": run_id})
        await asyncio.sleep(0.3)
        for n in range(1, 6):
            await publish_run_event(bus, run, RunEventKind.PROGRESS, message=f"step {n}")
        # Late subscribers replay from different points while more events are published.
        for after, socket in zip((0, 2, 5), late, strict=True):
            await subscribe(socket, f"late-{after}", WIDE, {"id": run_id, "after": after})
        for n in range(6, 21):
            await publish_run_event(bus, run, RunEventKind.PROGRESS, message=f"step {n}")
        await publish_run_event(bus, run, RunEventKind.COMPLETED)
        assert [e["seq"] for e in await _events_until(early, "early", 21)] == list(range(1, 22))
        for after, socket in zip((0, 2, 5), late, strict=True):
            events = await _events_until(socket, f"late-{after}", 21)
            assert [e["seq"] for e in events] == list(range(after + 1, 22))
            assert [e["message"] for e in events[:-1]] == [f"step {n}" for n in range(after + 1, 21)]
            assert events[-1]["kind"] == "COMPLETED"
            assert await next_message(socket) == {"id": f"late-{after}", "type": "complete"}
        assert await next_message(early) == {"id": "early", "type": "complete"}
    finally:
        for socket in [early, *late]:
            await socket.close()
    assert run_stream(run.id) not in _feeds(app)._feeds  # the feed ended with its stream


async def test_a_completed_operation_gets_no_frame_even_when_its_id_is_reused_at_once(app, ws_url, user):
    run, run_id = await active_run(user)
    bus = event_bus(app)
    socket = await acked(ws_url, user.token)
    try:
        await subscribe(socket, "s", NARROW, {"id": run_id})
        await asyncio.sleep(0.3)
        await publish_run_event(bus, run, RunEventKind.PROGRESS, message="one")
        assert (await next_message(socket))["payload"]["data"]["runEvents"] == {"seq": 1}
        # Complete and subscribe again under the same id, with the other selection, in one go.
        await socket.send(json.dumps({"id": "s", "type": "complete"}))
        await subscribe(socket, "s", WIDE, {"id": run_id, "after": 1})
        await asyncio.sleep(0.3)
        await publish_run_event(bus, run, RunEventKind.PROGRESS, message="two")
        message = await next_message(socket)
        assert message == {
            "id": "s",
            "type": "next",
            "payload": {"data": {"runEvents": {"seq": 2, "kind": "PROGRESS", "message": "two"}}},
        }
        assert await quiet(socket)
    finally:
        await socket.close()


async def test_the_feed_stops_when_its_last_subscriber_leaves(app, ws_url, user):
    run, run_id = await active_run(user)
    socket = await acked(ws_url, user.token)
    await subscribe(socket, "s", NARROW, {"id": run_id})
    await asyncio.sleep(0.3)
    assert run_stream(run.id) in _feeds(app)._feeds
    await socket.close()
    for _ in range(50):
        if run_stream(run.id) not in _feeds(app)._feeds:
            break
        await asyncio.sleep(0.05)
    assert run_stream(run.id) not in _feeds(app)._feeds


async def test_every_group_of_a_feed_completes_cleanly_after_the_final_event(app, ws_url, user):
    run, run_id = await active_run(user)
    queries = [NARROW, WIDE, "subscription($id: ID!) { runEvents(runId: $id) { kind seq } }"]
    sockets = [await acked(ws_url, user.token) for _ in queries]
    try:
        for query, socket in zip(queries, sockets, strict=True):  # three operations: three groups of one feed
            await subscribe(socket, "s", query, {"id": run_id})
        await asyncio.sleep(0.3)
        await publish_run_event(event_bus(app), run, RunEventKind.COMPLETED)
        payloads = []
        for socket in sockets:
            payloads.append((await next_message(socket))["payload"])
            assert await next_message(socket) == {"id": "s", "type": "complete"}
    finally:
        for socket in sockets:
            await socket.close()
    assert payloads == [
        {"data": {"runEvents": {"seq": 1}}},
        {"data": {"runEvents": {"seq": 1, "kind": "COMPLETED", "message": None}}},
        {"data": {"runEvents": {"kind": "COMPLETED", "seq": 1}}},
    ]


def _alive(kind: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is kind)


async def test_an_idle_fed_subscription_holds_no_user_row_nor_strawberry_stream(app, ws_url, user):
    """Once joined, an operation is its socket's and its feed's: its resolver, Strawberry's stream and the
    rows they read are let go (the group keeps its first member's execution, one per document)."""
    run, run_id = await active_run(user)
    kinds = (User, RequestContext, ExecutionContext)
    before = {kind: _alive(kind) for kind in kinds}
    sockets = [await acked(ws_url, user.token) for _ in range(6)]
    try:
        for socket in sockets:
            await subscribe(socket, "s", NARROW, {"id": run_id})
        for _ in range(100):
            feed = _feeds(app)._feeds.get(run_stream(run.id))
            if feed is not None and sum(len(group.members) for group in feed.groups.values()) == len(sockets):
                break
            await asyncio.sleep(0.05)
        grown = {kind: _alive(kind) - before[kind] for kind in kinds}
        await publish_run_event(event_bus(app), run, RunEventKind.PROGRESS, message="still fed")
        for socket in sockets:
            assert (await next_message(socket))["payload"]["data"]["runEvents"] == {"seq": 1}
    finally:
        for socket in sockets:
            await socket.close()
    assert sum(len(group.members) for group in feed.groups.values()) == 0
    assert grown[User] <= 1, grown  # the group's first member's context still knows its caller
    assert grown[ExecutionContext] == 0, grown
    assert grown[RequestContext] <= len(sockets) + 1, grown  # each connection's, and the group's
