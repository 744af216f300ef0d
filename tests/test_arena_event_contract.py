"""The arena event contract: a member's event and ENDED survive their wire form, keep their keys, and wire data
that breaks the contract is refused naming the key at fault."""

from __future__ import annotations

import dataclasses
import re

import pytest

from db_models.arenas import ArenaStatus
from tasks.event_contract import ArenaEvent, ArenaEventKind, EventContractError, RunEvent, arena_stream
from tests.test_event_contract import AT, TRADE, delivered

MEMBER = ArenaEvent(arena_id=4, kind=ArenaEventKind.RUN, run_event=dataclasses.replace(TRADE, seq=9), at=AT)
ENDED = ArenaEvent(arena_id=4, kind=ArenaEventKind.ENDED, status=ArenaStatus.COMPLETED, at=AT)


@pytest.mark.parametrize("event", [MEMBER, ENDED], ids=["RUN", "ENDED"])
def test_an_arena_event_read_back_from_its_wire_form_is_the_event_that_was_published(event):
    assert ArenaEvent.from_wire(delivered(event.to_wire(), 31)) == dataclasses.replace(event, seq=31)


def test_a_member_event_carries_the_runs_own_event_and_seq_under_stable_keys():
    wire = MEMBER.to_wire()
    assert set(wire) == {"arenaId", "kind", "runEvent", "at"}
    assert wire["runEvent"] == TRADE.to_wire() | {"seq": 9}
    assert RunEvent.from_wire(wire["runEvent"]).seq == 9
    assert ENDED.to_wire() == {"arenaId": 4, "kind": "ENDED", "status": "COMPLETED", "at": AT.isoformat()}


def test_only_ended_ends_the_stream_and_both_name_the_arenas_stream():
    assert ENDED.is_terminal and not MEMBER.is_terminal
    assert MEMBER.stream == ENDED.stream == arena_stream(4) == "arena:4"


def test_an_arena_event_cannot_be_built_without_what_its_kind_carries():
    with pytest.raises(EventContractError, match="a RUN arena event carries its run's published event"):
        ArenaEvent(arena_id=4, kind=ArenaEventKind.RUN, run_event=TRADE)  # not published: no seq
    with pytest.raises(EventContractError, match="an ENDED arena event carries the arena's final status"):
        ArenaEvent(arena_id=4, kind=ArenaEventKind.ENDED)
    with pytest.raises(EventContractError, match="kind must be a ArenaEventKind"):
        dataclasses.replace(ENDED, kind="ENDED")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "PAUSED"}, "arena event: 'kind' is 'PAUSED', not one of RUN, ENDED"),
        ({"arenaId": "4"}, "arena event: 'arenaId' must be an integer, not '4'"),
        ({"status": "DONE"}, "arena event: 'status' is 'DONE', not one of QUEUED, RUNNING"),
        ({"runEvent": {"kind": "TRADE"}}, "run event has no 'seq'"),
        ({"kind": "RUN", "status": None}, "a RUN arena event carries its run's published event"),
    ],
)
def test_an_arena_event_that_breaks_the_contract_is_refused_with_the_key_at_fault_named(changes, message):
    wire = {**delivered(ENDED.to_wire(), 2), **changes}
    with pytest.raises(EventContractError, match=re.escape(message)):
        ArenaEvent.from_wire(wire)
