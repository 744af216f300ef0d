"""The event contract: events survive the trip through their wire form unchanged, the wire form keeps the keys
subscribers of earlier releases read, and wire data that breaks the contract is refused with a clear error,
which a subscriber receives with a code after the events before it."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import re
from decimal import Decimal

import pytest

from db_models.chat import MessageRole
from db_models.runs import ActionType, RunStatus
from tasks.event_contract import (
    TERMINAL_RUN_KINDS,
    ChatEvent,
    ChatEventKind,
    ChatMessage,
    EventContractError,
    Position,
    RunEvent,
    RunEventKind,
    RunProgress,
    conversation_stream,
    run_stream,
)
from tasks.run_events import publish_run_event
from tests.support.ws_session import acked, active_run, event_bus, next_message, subscribe

AT = dt.datetime(2025, 1, 15, 14, 30, 5, 123456, tzinfo=dt.UTC)
POSITION = Position(
    pk=81,
    date=dt.date(2025, 1, 15),
    timestamp=dt.datetime(2025, 1, 15, 14, 30, tzinfo=dt.UTC),
    action_id=3,
    action=ActionType.BUY,
    symbol="AAPL",
    amount=10,
    price=Decimal("187.250000"),
    holdings={"AAPL": 10},
    cash=Decimal("8127.500000"),
    fee=Decimal("2.500000"),
)
TRADE = RunEvent(
    run_id=7,
    kind=RunEventKind.TRADE,
    status=RunStatus.RUNNING,
    progress=RunProgress(current=2, total=20, message="Trading 2025-01-15", current_date=dt.date(2025, 1, 15)),
    message="BUY 10 AAPL at 187.25",
    position=POSITION,
    at=AT,
)
REPLY = ChatMessage(
    pk=12,
    role=MessageRole.ASSISTANT,
    content="AAPL rose 3% over the run.",
    tool_calls=[{"name": "run_summary", "args": {"run": 7}}],
    created_at=AT,
    cut_short=True,
)


def delivered(wire: dict, seq: int) -> dict:
    """What a subscriber receives: the published dict through JSON (as Redis holds it), stamped by the bus."""
    return {**json.loads(json.dumps(wire, default=str)), "seq": seq}


def test_a_run_event_read_back_from_its_wire_form_is_the_event_that_was_published():
    assert RunEvent.from_wire(delivered(TRADE.to_wire(), 5)) == dataclasses.replace(TRADE, seq=5)


def test_a_run_event_without_position_or_dates_survives_the_trip_too():
    queued = RunEvent(
        run_id=7, kind=RunEventKind.QUEUED, status=RunStatus.QUEUED, progress=RunProgress(current=0, total=0), at=AT
    )
    assert RunEvent.from_wire(delivered(queued.to_wire(), 1)) == dataclasses.replace(queued, seq=1)


@pytest.mark.parametrize(
    "event",
    [
        ChatEvent(conversation_id=3, kind=ChatEventKind.TOKEN, token="Hel", at=AT),
        ChatEvent(conversation_id=3, kind=ChatEventKind.TOOL_START, tool="price", tool_input={"symbol": "AAPL"}, at=AT),
        ChatEvent(conversation_id=3, kind=ChatEventKind.TOOL_END, tool="price", tool_output="187.25", at=AT),
        ChatEvent(conversation_id=3, kind=ChatEventKind.TITLE, title="Apple over the run", at=AT),
        ChatEvent(conversation_id=3, kind=ChatEventKind.COMPLETE, message=REPLY, at=AT),
        ChatEvent(conversation_id=3, kind=ChatEventKind.ERROR, error="The reply failed: timeout", at=AT),
    ],
    ids=lambda event: event.kind.value,
)
def test_every_kind_of_chat_event_read_back_from_its_wire_form_is_the_event_that_was_published(event):
    assert ChatEvent.from_wire(delivered(event.to_wire(), 9)) == dataclasses.replace(event, seq=9)


def test_the_run_wire_form_keeps_the_camel_case_keys_earlier_subscribers_read():
    wire = TRADE.to_wire()
    assert wire == {
        "runId": 7,
        "kind": "TRADE",
        "status": "RUNNING",
        "progress": {"current": 2, "total": 20, "message": "Trading 2025-01-15", "currentDate": "2025-01-15"},
        "message": "BUY 10 AAPL at 187.25",
        "position": {
            "pk": 81,
            "date": "2025-01-15",
            "timestamp": "2025-01-15T14:30:00+00:00",
            "actionId": 3,
            "action": "BUY",
            "symbol": "AAPL",
            "amount": 10,
            "price": "187.250000",
            "holdings": {"AAPL": 10},
            "cash": "8127.500000",
            "fee": "2.500000",
        },
        "at": "2025-01-15T14:30:05.123456+00:00",
    }


def test_a_position_published_before_fees_existed_reads_with_no_fee():
    wire = delivered(TRADE.to_wire(), 5)
    del wire["position"]["fee"]
    assert RunEvent.from_wire(wire).position == dataclasses.replace(POSITION, fee=Decimal(0))


def test_a_corporate_action_event_carries_its_split_or_dividend_row():
    split = dataclasses.replace(POSITION, action=ActionType.SPLIT, price=Decimal("2"), holdings={"AAPL": 20}, fee=0)
    event = dataclasses.replace(TRADE, kind=RunEventKind.CORPORATE_ACTION, position=split, message="AAPL split 2-for-1")
    assert RunEvent.from_wire(delivered(event.to_wire(), 6)) == dataclasses.replace(event, seq=6)
    with pytest.raises(EventContractError, match="CORPORATE_ACTION run event carries the position"):
        dataclasses.replace(TRADE, kind=RunEventKind.CORPORATE_ACTION, position=None)


def test_the_chat_wire_form_carries_only_what_its_kind_carries():
    token = ChatEvent(conversation_id=3, kind=ChatEventKind.TOKEN, token="Hel", at=AT).to_wire()
    assert token == {"conversationId": 3, "kind": "TOKEN", "at": "2025-01-15T14:30:05.123456+00:00", "token": "Hel"}
    complete = ChatEvent(conversation_id=3, kind=ChatEventKind.COMPLETE, message=REPLY, at=AT).to_wire()
    assert complete["message"] == {
        "pk": 12,
        "role": "ASSISTANT",
        "content": "AAPL rose 3% over the run.",
        "toolCalls": [{"name": "run_summary", "args": {"run": 7}}],
        "createdAt": "2025-01-15T14:30:05.123456+00:00",
        "cutShort": True,
    }


def test_a_wire_event_published_before_optional_keys_existed_still_reads():
    """An earlier publisher left out null keys and cutShort: they read as None and False."""
    wire = {
        "conversationId": 3,
        "kind": "COMPLETE",
        "at": "2025-01-15T14:30:05+00:00",
        "seq": 4,
        "message": {"pk": 12, "role": "ASSISTANT", "content": "Hi", "createdAt": "2025-01-15T14:30:05+00:00"},
    }
    event = ChatEvent.from_wire(wire)
    assert event.message is not None
    assert (event.message.tool_calls, event.message.cut_short, event.token) == (None, False, None)


def test_terminal_kinds_end_a_run_and_others_do_not():
    terminal = {kind for kind in RunEventKind if dataclasses.replace(TRADE, kind=kind).is_terminal}
    assert terminal == TERMINAL_RUN_KINDS == {RunEventKind.COMPLETED, RunEventKind.FAILED, RunEventKind.CANCELLED}


def test_events_name_the_stream_they_are_published_on():
    assert TRADE.stream == run_stream(7) == "run:7"
    assert ChatEvent(conversation_id=3, kind=ChatEventKind.TOKEN, token="x").stream == conversation_stream(3)
    assert conversation_stream(3) == "conversation:3"


def _run_wire(**changes) -> dict:
    return {**delivered(TRADE.to_wire(), 5), **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "EXPLODED"}, "run event: 'kind' is 'EXPLODED', not one of QUEUED, STARTED, PROGRESS, TRADE"),
        ({"status": "PAUSED"}, "run event: 'status' is 'PAUSED', not one of QUEUED, RUNNING"),
        ({"kind": None}, "run event has no 'kind'"),
        ({"seq": None}, "run event has no 'seq'"),
        ({"seq": "5"}, "run event: 'seq' must be an integer, not '5'"),
        ({"runId": True}, "run event: 'runId' must be an integer, not True"),
        ({"at": "yesterday"}, "run event: 'at' is 'yesterday', not an ISO date-time with a UTC offset"),
        ({"at": "2025-01-15T14:30:05"}, "'at' is '2025-01-15T14:30:05', not an ISO date-time with a UTC offset"),
        ({"progress": [1, 20]}, "run event: 'progress' must be an object, not [1, 20]"),
        ({"progress": {"current": 1}}, "run event progress has no 'total'"),
        ({"message": 42}, "run event: 'message' must be a string, not 42"),
    ],
)
def test_a_run_event_that_breaks_the_contract_is_refused_with_the_key_at_fault_named(changes, message):
    with pytest.raises(EventContractError, match=re.escape(message)):
        RunEvent.from_wire(_run_wire(**changes))


@pytest.mark.parametrize(
    ("position_changes", "message"),
    [
        ({"action": "HOLD"}, "run event position: 'action' is 'HOLD', not one of BUY, SELL, NO_TRADE"),
        ({"price": "a lot"}, "run event position: 'price' is 'a lot', not a decimal number"),
        ({"cash": "NaN"}, "run event position: 'cash' is 'NaN', not a decimal number"),
        ({"date": "15/01/2025"}, "run event position: 'date' is '15/01/2025', not an ISO date"),
        ({"holdings": {"AAPL": "ten"}}, "run event position: 'holdings' must map names to integers"),
    ],
)
def test_a_trade_whose_position_breaks_the_contract_is_refused(position_changes, message):
    wire = _run_wire()
    wire["position"] = {**wire["position"], **position_changes}
    with pytest.raises(EventContractError, match=re.escape(message)):
        RunEvent.from_wire(wire)


CHAT_WIRE = {"conversationId": 3, "at": AT.isoformat(), "seq": 1}


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ("not an object", "chat event must be an object, not str"),
        ({**CHAT_WIRE, "kind": "SHOUT"}, "chat event: 'kind' is 'SHOUT', not one of TOKEN, TOOL_START"),
        ({**CHAT_WIRE, "kind": "TOKEN"}, "a TOKEN chat event carries token"),
        ({**CHAT_WIRE, "kind": "COMPLETE", "message": {"pk": 1}}, "chat event message has no 'role'"),
        ({**CHAT_WIRE, "kind": "TOOL_START", "tool": "price", "toolInput": "AAPL"}, "'toolInput' must be an object"),
    ],
)
def test_a_chat_event_that_breaks_the_contract_is_refused(wire, message):
    with pytest.raises(EventContractError, match=re.escape(message)):
        ChatEvent.from_wire(wire)


def test_an_event_cannot_be_built_with_a_kind_outside_its_enum_or_without_what_its_kind_carries():
    with pytest.raises(EventContractError, match="kind must be a RunEventKind"):
        dataclasses.replace(TRADE, kind="PROGRESS")
    with pytest.raises(EventContractError, match="a TRADE run event carries the position"):
        dataclasses.replace(TRADE, position=None)
    with pytest.raises(EventContractError, match="a TOOL_START chat event carries tool, tool_input"):
        ChatEvent(conversation_id=3, kind=ChatEventKind.TOOL_START)


def test_a_long_bad_value_is_shortened_in_the_error():
    with pytest.raises(EventContractError) as refused:
        RunEvent.from_wire(_run_wire(message=["x" * 10_000]))
    assert len(str(refused.value)) < 200


def test_an_event_not_yet_published_has_no_seq_to_serve():
    assert dataclasses.replace(TRADE, seq=5).published_seq() == 5
    with pytest.raises(EventContractError, match="has not been published"):
        TRADE.published_seq()


async def test_a_subscriber_gets_the_events_before_one_that_breaks_the_contract_then_a_coded_error(app, ws_url, user):
    run, run_id = await active_run(user)
    socket = await acked(ws_url, user.token)
    try:
        await subscribe(socket, "run", "subscription($id: ID!) { runEvents(runId: $id) { seq kind } }", {"id": run_id})
        await asyncio.sleep(0.3)  # the subscription is listening
        bus = event_bus(app)
        await publish_run_event(bus, run, RunEventKind.PROGRESS, message="fine")
        newer = {**dataclasses.replace(TRADE, run_id=run.id, kind=RunEventKind.PROGRESS).to_wire(), "kind": "PAUSED"}
        await bus.publish(run_stream(run.id), newer)  # e.g. from a release that knows a kind this one does not
        assert (await next_message(socket))["payload"]["data"]["runEvents"] == {"seq": 1, "kind": "PROGRESS"}
        [error] = (await next_message(socket))["payload"]["errors"]
        assert error["extensions"]["code"] == "INTERNAL"
        assert "An event of this run cannot be read: run event: 'kind' is 'PAUSED'" in error["message"]
        assert await next_message(socket) == {"id": "run", "type": "complete"}
    finally:
        await socket.close()
