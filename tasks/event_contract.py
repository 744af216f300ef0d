"""The typed contract of run and chat events: what workers and the API publish, and what subscribers read.

An event travels the event bus (JSON in Redis, or memory in embedded mode) as a camelCase dict; the frozen
dataclasses here are the only code that writes that dict (`to_wire`) or reads it (`from_wire`), so every
publisher and subscriber agrees on it. The keys never change between releases: during a rolling deploy an
API process of one release reads the events a worker of the next one publishes. A dict that breaks the
contract (an unknown kind, a missing key, a value of the wrong type) raises EventContractError naming it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from db_models.arenas import ArenaStatus
from db_models.chat import MessageRole
from db_models.runs import ActionType, RunStatus
from tasks.event_wire import EventContractError, WireObject


class RunEventKind(StrEnum):
    QUEUED = "QUEUED"
    STARTED = "STARTED"
    PROGRESS = "PROGRESS"
    TRADE = "TRADE"
    CORPORATE_ACTION = "CORPORATE_ACTION"  # a split or dividend applied at a step's open, with its position
    LOG = "LOG"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


# A run's stream ends with one of these: nothing is published on it afterwards.
TERMINAL_RUN_KINDS = frozenset({RunEventKind.COMPLETED, RunEventKind.FAILED, RunEventKind.CANCELLED})


class ArenaEventKind(StrEnum):
    RUN = "RUN"  # a member run's event, again
    ENDED = "ENDED"  # the arena's last event: every member's final event is before it


class ChatEventKind(StrEnum):
    TOKEN = "TOKEN"
    TOOL_START = "TOOL_START"
    TOOL_END = "TOOL_END"
    TITLE = "TITLE"
    COMPLETE = "COMPLETE"
    ERROR = "ERROR"


def run_stream(run_id: int) -> str:
    return f"run:{run_id}"


def arena_stream(arena_id: int) -> str:
    return f"arena:{arena_id}"


def conversation_stream(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def price_fetch_stream(job_id: int) -> str:
    """A price fetch job's stream; its events are in tasks/price_fetch_events.py."""
    return f"price-fetch:{job_id}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _without_nulls(wire: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in wire.items() if value is not None}


def _checked_kind(kind: object, enum: type[StrEnum], where: str) -> None:
    if not isinstance(kind, enum):
        raise EventContractError(f"{where}: kind must be a {enum.__name__}, not {kind!r}.")


def _published_seq(seq: int | None, where: str) -> int:
    if seq is None:
        raise EventContractError(f"{where} has not been published: it has no seq.")
    return seq


# --- runs ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RunProgress:
    current: int
    total: int
    message: str | None = None
    current_date: dt.date | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "total": self.total,
            "message": self.message,
            "currentDate": None if self.current_date is None else self.current_date.isoformat(),
        }

    @classmethod
    def from_wire(cls, data: object) -> RunProgress:
        wire = WireObject(data, "run event progress")
        return cls(
            current=wire.integer("current"),
            total=wire.integer("total"),
            message=wire.optional_text("message"),
            current_date=wire.optional_day("currentDate"),
        )


@dataclass(frozen=True, kw_only=True)
class Position:
    """One action of a run (a trade, the day's no-trade, a split or a dividend) and the portfolio right after it."""

    pk: int
    date: dt.date
    timestamp: dt.datetime
    action_id: int
    action: ActionType
    symbol: str | None
    amount: int | None
    price: Decimal | None
    holdings: Mapping[str, int]
    cash: Decimal
    fee: Decimal = Decimal(0)  # a trade's commission

    def to_wire(self) -> dict[str, Any]:
        return {
            "pk": self.pk,
            "date": self.date.isoformat(),
            "timestamp": self.timestamp.isoformat(),
            "actionId": self.action_id,
            "action": self.action.value,
            "symbol": self.symbol,
            "amount": self.amount,
            "price": None if self.price is None else str(self.price),
            "holdings": dict(self.holdings),
            "cash": str(self.cash),
            "fee": str(self.fee),
        }

    @classmethod
    def from_wire(cls, data: object) -> Position:
        wire = WireObject(data, "run event position")
        return cls(
            pk=wire.integer("pk"),
            date=wire.day("date"),
            timestamp=wire.moment("timestamp"),
            action_id=wire.integer("actionId"),
            action=wire.choice("action", ActionType),
            symbol=wire.optional_text("symbol"),
            amount=wire.optional_integer("amount"),
            price=wire.optional_money("price"),
            holdings=wire.integer_map("holdings"),
            cash=wire.money("cash"),
            fee=wire.optional_money("fee") or Decimal(0),  # absent from events of releases before fees
        )


@dataclass(frozen=True, kw_only=True)
class RunEvent:
    """Published after the state it announces is written: a subscriber that sees it can read that state."""

    run_id: int
    kind: RunEventKind
    status: RunStatus
    progress: RunProgress
    message: str | None = None
    position: Position | None = None  # on TRADE and CORPORATE_ACTION events
    at: dt.datetime = field(default_factory=_now)
    seq: int | None = None  # given by the bus when the event is published

    def __post_init__(self) -> None:
        _checked_kind(self.kind, RunEventKind, "a run event")
        if self.kind in (RunEventKind.TRADE, RunEventKind.CORPORATE_ACTION) and self.position is None:
            raise EventContractError(f"a {self.kind} run event carries the position it made.")

    @property
    def stream(self) -> str:
        return run_stream(self.run_id)

    @property
    def is_terminal(self) -> bool:
        return self.kind in TERMINAL_RUN_KINDS

    def published_seq(self) -> int:
        return _published_seq(self.seq, f"run event {self.kind} of run {self.run_id}")

    def to_wire(self) -> dict[str, Any]:
        wire = {
            "runId": self.run_id,
            "kind": self.kind.value,
            "status": self.status.value,
            "progress": self.progress.to_wire(),
            "message": self.message,
            "position": None if self.position is None else self.position.to_wire(),
            "at": self.at.isoformat(),
        }
        return wire if self.seq is None else {**wire, "seq": self.seq}

    @classmethod
    def from_wire(cls, data: object) -> RunEvent:
        """Reads an event as the bus delivers it, seq included."""
        wire = WireObject(data, "run event")
        position = wire.optional_mapping("position")
        return cls(
            seq=wire.integer("seq"),
            run_id=wire.integer("runId"),
            kind=wire.choice("kind", RunEventKind),
            status=wire.choice("status", RunStatus),
            progress=RunProgress.from_wire(wire.mapping("progress")),
            message=wire.optional_text("message"),
            position=None if position is None else Position.from_wire(position),
            at=wire.moment("at"),
        )


# --- arenas --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ArenaEvent:
    """On an arena's stream: each member run's event (RUN), then ENDED once every member's final one is there."""

    arena_id: int
    kind: ArenaEventKind
    run_event: RunEvent | None = None  # RUN: the event as published on the run's own stream, its seq included
    status: ArenaStatus | None = None  # ENDED: the arena's final status
    at: dt.datetime = field(default_factory=_now)
    seq: int | None = None  # given by the bus when the event is published

    def __post_init__(self) -> None:
        _checked_kind(self.kind, ArenaEventKind, "an arena event")
        if self.kind is ArenaEventKind.RUN and (self.run_event is None or self.run_event.seq is None):
            raise EventContractError("a RUN arena event carries its run's published event.")
        if self.kind is ArenaEventKind.ENDED and self.status is None:
            raise EventContractError("an ENDED arena event carries the arena's final status.")

    @property
    def stream(self) -> str:
        return arena_stream(self.arena_id)

    @property
    def is_terminal(self) -> bool:
        return self.kind is ArenaEventKind.ENDED

    def published_seq(self) -> int:
        return _published_seq(self.seq, f"arena event {self.kind} of arena {self.arena_id}")

    def to_wire(self) -> dict[str, Any]:
        return _without_nulls(
            {
                "arenaId": self.arena_id,
                "kind": self.kind.value,
                "runEvent": None if self.run_event is None else self.run_event.to_wire(),
                "status": None if self.status is None else self.status.value,
                "at": self.at.isoformat(),
                "seq": self.seq,
            }
        )

    @classmethod
    def from_wire(cls, data: object) -> ArenaEvent:
        """Reads an event as the bus delivers it, seq included."""
        wire = WireObject(data, "arena event")
        run_event = wire.optional_mapping("runEvent")
        return cls(
            seq=wire.integer("seq"),
            arena_id=wire.integer("arenaId"),
            kind=wire.choice("kind", ArenaEventKind),
            run_event=None if run_event is None else RunEvent.from_wire(run_event),
            status=None if wire.optional_text("status") is None else wire.choice("status", ArenaStatus),
            at=wire.moment("at"),
        )


# --- conversations ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ChatMessage:
    pk: int
    role: MessageRole
    content: str
    tool_calls: list[Any] | None
    created_at: dt.datetime
    cut_short: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "pk": self.pk,
            "role": self.role.value,
            "content": self.content,
            "toolCalls": self.tool_calls,
            "createdAt": self.created_at.isoformat(),
            "cutShort": self.cut_short,
        }

    @classmethod
    def from_wire(cls, data: object) -> ChatMessage:
        wire = WireObject(data, "chat event message")
        return cls(
            pk=wire.integer("pk"),
            role=wire.choice("role", MessageRole),
            content=wire.text("content"),
            tool_calls=wire.optional_list("toolCalls"),
            created_at=wire.moment("createdAt"),
            cut_short=wire.flag("cutShort", default=False),
        )


# What each kind of chat event carries besides its kind and time.
CHAT_EVENT_FIELDS: dict[ChatEventKind, tuple[str, ...]] = {
    ChatEventKind.TOKEN: ("token",),
    ChatEventKind.TOOL_START: ("tool", "tool_input"),
    ChatEventKind.TOOL_END: ("tool", "tool_output"),
    ChatEventKind.TITLE: ("title",),
    ChatEventKind.COMPLETE: ("message",),
    ChatEventKind.ERROR: ("error",),
}


@dataclass(frozen=True, kw_only=True)
class ChatEvent:
    """One step of a reply: TITLE, TOKEN and TOOL_START/TOOL_END as they happen, then COMPLETE or ERROR."""

    conversation_id: int
    kind: ChatEventKind
    token: str | None = None
    tool: str | None = None
    tool_input: Mapping[str, Any] | None = None
    tool_output: str | None = None
    message: ChatMessage | None = None  # the stored reply, on COMPLETE
    title: str | None = None
    error: str | None = None
    at: dt.datetime = field(default_factory=_now)
    seq: int | None = None  # given by the bus when the event is published

    def __post_init__(self) -> None:
        _checked_kind(self.kind, ChatEventKind, "a chat event")
        missing = [name for name in CHAT_EVENT_FIELDS[self.kind] if getattr(self, name) is None]
        if missing:
            raise EventContractError(f"a {self.kind} chat event carries {', '.join(missing)}.")

    @property
    def stream(self) -> str:
        return conversation_stream(self.conversation_id)

    def published_seq(self) -> int:
        return _published_seq(self.seq, f"chat event {self.kind} of conversation {self.conversation_id}")

    def to_wire(self) -> dict[str, Any]:
        """Keys a kind does not carry are left out (a reply streams many small TOKEN events)."""
        return _without_nulls(
            {
                "conversationId": self.conversation_id,
                "kind": self.kind.value,
                "at": self.at.isoformat(),
                "token": self.token,
                "tool": self.tool,
                "toolInput": None if self.tool_input is None else dict(self.tool_input),
                "toolOutput": self.tool_output,
                "message": None if self.message is None else self.message.to_wire(),
                "title": self.title,
                "error": self.error,
                "seq": self.seq,
            }
        )

    @classmethod
    def from_wire(cls, data: object) -> ChatEvent:
        """Reads an event as the bus delivers it, seq included."""
        wire = WireObject(data, "chat event")
        message = wire.optional_mapping("message")
        tool_input = wire.optional_mapping("toolInput")
        return cls(
            seq=wire.integer("seq"),
            conversation_id=wire.integer("conversationId"),
            kind=wire.choice("kind", ChatEventKind),
            token=wire.optional_text("token"),
            tool=wire.optional_text("tool"),
            tool_input=None if tool_input is None else dict(tool_input),
            tool_output=wire.optional_text("toolOutput"),
            message=None if message is None else ChatMessage.from_wire(message),
            title=wire.optional_text("title"),
            error=wire.optional_text("error"),
            at=wire.moment("at"),
        )
