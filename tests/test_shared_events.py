"""A run event's selection is executed once per process for all its subscribers, and each subscriber
still gets exactly the selection and variables it asked for."""

from __future__ import annotations

import asyncio

from graphql_api.shared_events import SharedResults, shared_results
from tasks.event_contract import RunEventKind
from tasks.run_events import publish_run_event
from tests.support.ws_session import acked, active_run, event_bus, next_message, subscribe

NARROW = "subscription($id: ID!) { runEvents(runId: $id) { seq kind } }"
WIDE = "subscription($id: ID!) { runEvents(runId: $id) { seq kind message status } }"


def _entries_for(run_id: int) -> list[tuple]:
    return [key for key in shared_results._results if key[0][:2] == ("run", run_id)]


async def test_subscribers_share_one_execution_per_selection_and_get_their_own_shape(app, ws_url, user):
    run, run_id = await active_run(user)
    sockets = [await acked(ws_url, user.token) for _ in range(4)]
    try:
        for n, socket in enumerate(sockets):
            await subscribe(socket, "s", NARROW if n < 3 else WIDE, {"id": run_id})
        await asyncio.sleep(0.3)  # every subscription is listening
        await publish_run_event(event_bus(app), run, RunEventKind.PROGRESS, message="halfway")
        payloads = [(await next_message(socket))["payload"]["data"]["runEvents"] for socket in sockets]
    finally:
        for socket in sockets:
            await socket.close()
    assert payloads[:3] == [{"seq": 1, "kind": "PROGRESS"}] * 3
    assert payloads[3] == {"seq": 1, "kind": "PROGRESS", "message": "halfway", "status": "RUNNING"}
    # Two documents, one event: two executions kept, not four.
    assert len(_entries_for(run.id)) == 2


async def test_the_same_seq_of_another_run_is_not_confused(app, ws_url, user):
    first, first_id = await active_run(user)
    second, second_id = await active_run(user)
    sockets = [await acked(ws_url, user.token) for _ in range(2)]
    try:
        await subscribe(sockets[0], "a", WIDE, {"id": first_id})
        await subscribe(sockets[1], "b", WIDE, {"id": second_id})
        await asyncio.sleep(0.3)
        await publish_run_event(event_bus(app), first, RunEventKind.PROGRESS, message="first run")
        await publish_run_event(event_bus(app), second, RunEventKind.PROGRESS, message="second run")
        messages = [(await next_message(socket))["payload"]["data"]["runEvents"]["message"] for socket in sockets]
    finally:
        for socket in sockets:
            await socket.close()
    assert messages == ["first run", "second run"]


def test_results_with_errors_are_not_kept_and_the_oldest_go_first():
    from graphql import ExecutionResult, GraphQLError

    results = SharedResults(max_entries=2)
    results.put(("a",), ExecutionResult(data=None, errors=[GraphQLError("boom")]))
    assert results.get(("a",)) is None
    for key in ("b", "c"):
        results.put((key,), ExecutionResult(data={"k": key}))
    assert results.get(("b",)) is not None  # now the most recently used
    results.put(("d",), ExecutionResult(data={"k": "d"}))
    assert results.get(("c",)) is None and results.get(("b",)).data == {"k": "b"}
