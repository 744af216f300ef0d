"""The typed contract of a price fetch job's events, as tasks/event_contract.py has for runs and chats:
the frozen dataclasses here alone write (`to_wire`) and read (`from_wire`) their camelCase wire form."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from db_models.price_fetch.results import SymbolResult, SymbolStatus
from db_models.price_fetches import FetchJobStatus, PriceFetchJob
from tasks.event_contract import price_fetch_stream
from tasks.event_wire import EventContractError, WireObject
from tasks.events import EventBus


class PriceFetchEventKind(StrEnum):
    QUEUED = "QUEUED"  # the API created the job and is handing it to a worker
    STARTED = "STARTED"  # a worker took it (or took it up again after its worker was lost: message says so)
    SYMBOL_STARTED = "SYMBOL_STARTED"  # a symbol's calls begin (progress.message says how many)
    PROGRESS = "PROGRESS"  # one of the symbol's calls was answered
    SYMBOL_FINISHED = "SYMBOL_FINISHED"  # the symbol is written, up to date, failed or not fetched (result)
    COMPLETED = "COMPLETED"  # every symbol was tried
    FAILED = "FAILED"  # the fetch stopped (message says why); the symbols finished before are kept
    CANCELLED = "CANCELLED"  # an admin cancelled it; the symbols finished before are kept


# A job's stream ends with one of these: nothing is published on it afterwards.
TERMINAL_FETCH_KINDS = frozenset(
    {PriceFetchEventKind.COMPLETED, PriceFetchEventKind.FAILED, PriceFetchEventKind.CANCELLED}
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, kw_only=True)
class FetchProgress:
    current: int  # symbols finished
    total: int  # symbols asked for
    message: str | None = None  # the call in hand

    def to_wire(self) -> dict[str, Any]:
        return {"current": self.current, "total": self.total, "message": self.message}

    @classmethod
    def from_wire(cls, data: object) -> FetchProgress:
        wire = WireObject(data, "price fetch event progress")
        return cls(current=wire.integer("current"), total=wire.integer("total"), message=wire.optional_text("message"))


def result_to_wire(result: SymbolResult) -> dict[str, Any]:
    return {
        "symbol": result.symbol,
        "status": result.status.value,
        "barsAdded": result.bars_added,
        "barsUpdated": result.bars_updated,
        "firstDate": None if result.first_date is None else result.first_date.isoformat(),
        "lastDate": None if result.last_date is None else result.last_date.isoformat(),
        "actionsAdded": result.actions_added,
        "requests": result.requests,
        "message": result.message,
    }


def result_from_wire(data: object) -> SymbolResult:
    wire = WireObject(data, "price fetch event result")
    return SymbolResult(
        symbol=wire.text("symbol"),
        status=wire.choice("status", SymbolStatus),
        bars_added=wire.integer("barsAdded"),
        bars_updated=wire.integer("barsUpdated"),
        first_date=wire.optional_day("firstDate"),
        last_date=wire.optional_day("lastDate"),
        actions_added=wire.integer("actionsAdded"),
        requests=wire.integer("requests"),
        message=wire.optional_text("message"),
    )


@dataclass(frozen=True, kw_only=True)
class PriceFetchEvent:
    """Published after the state it announces is written: a subscriber that sees it can read that state."""

    job_id: int
    kind: PriceFetchEventKind
    status: FetchJobStatus
    progress: FetchProgress
    symbol: str | None = None
    result: SymbolResult | None = None  # on SYMBOL_FINISHED
    message: str | None = None
    at: dt.datetime = field(default_factory=_now)
    seq: int | None = None  # given by the bus when the event is published

    def __post_init__(self) -> None:
        if not isinstance(self.kind, PriceFetchEventKind):
            raise EventContractError(f"a price fetch event: kind must be a PriceFetchEventKind, not {self.kind!r}.")
        if self.kind is PriceFetchEventKind.SYMBOL_FINISHED and self.result is None:
            raise EventContractError("a SYMBOL_FINISHED price fetch event carries the symbol's result.")

    @property
    def stream(self) -> str:
        return price_fetch_stream(self.job_id)

    @property
    def is_terminal(self) -> bool:
        return self.kind in TERMINAL_FETCH_KINDS

    def to_wire(self) -> dict[str, Any]:
        wire = {
            "jobId": self.job_id,
            "kind": self.kind.value,
            "status": self.status.value,
            "progress": self.progress.to_wire(),
            "symbol": self.symbol,
            "result": None if self.result is None else result_to_wire(self.result),
            "message": self.message,
            "at": self.at.isoformat(),
        }
        return wire if self.seq is None else {**wire, "seq": self.seq}

    @classmethod
    def from_wire(cls, data: object) -> PriceFetchEvent:
        """Reads an event as the bus delivers it, seq included."""
        wire = WireObject(data, "price fetch event")
        result = wire.optional_mapping("result")
        return cls(
            seq=wire.integer("seq"),
            job_id=wire.integer("jobId"),
            kind=wire.choice("kind", PriceFetchEventKind),
            status=wire.choice("status", FetchJobStatus),
            progress=FetchProgress.from_wire(wire.mapping("progress")),
            symbol=wire.optional_text("symbol"),
            result=None if result is None else result_from_wire(result),
            message=wire.optional_text("message"),
            at=wire.moment("at"),
        )


async def publish_fetch_event(
    bus: EventBus,
    job: PriceFetchJob,
    kind: PriceFetchEventKind,
    *,
    symbol: str | None = None,
    result: SymbolResult | None = None,
    message: str | None = None,
) -> int:
    """Publishes after the caller has written the state the event announces; returns the event's seq."""
    event = PriceFetchEvent(
        job_id=job.id,
        kind=kind,
        status=FetchJobStatus(job.status),
        progress=FetchProgress(current=job.progress_current, total=job.progress_total, message=job.progress_message),
        symbol=symbol,
        result=result,
        message=message,
    )
    return await bus.publish(event.stream, event.to_wire())


async def follow_fetch_events(bus: EventBus, job_id: int, after_seq: int = 0) -> AsyncIterator[PriceFetchEvent]:
    """The job's events after after_seq, replayed then live; EventContractError on one that breaks the contract."""
    async with aclosing(bus.subscribe(price_fetch_stream(job_id), after_seq)) as events:
        async for wire in events:
            yield PriceFetchEvent.from_wire(wire)
