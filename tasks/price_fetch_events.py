"""The events of a price fetch job, published in order on the job's own stream."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from db_models.price_fetches import FetchJobStatus, PriceFetchJob
from tasks.events import EventBus


class PriceFetchEventKind(StrEnum):
    QUEUED = "QUEUED"  # the API created the job and is handing it to a worker
    STARTED = "STARTED"  # a worker took it (or took it up again after its worker was lost: message says so)
    SYMBOL_STARTED = "SYMBOL_STARTED"  # a symbol's calls begin (progress.message names them)
    PROGRESS = "PROGRESS"  # one of the symbol's calls was answered
    SYMBOL_FINISHED = "SYMBOL_FINISHED"  # the symbol is written, up to date, failed or not fetched (result)
    COMPLETED = "COMPLETED"  # every symbol was tried
    FAILED = "FAILED"  # the fetch stopped (message says why); the symbols finished before are kept


TERMINAL_KINDS = frozenset({PriceFetchEventKind.COMPLETED, PriceFetchEventKind.FAILED})


def fetch_job_stream(job_id: int) -> str:
    return f"price-fetch:{job_id}"


@dataclass(frozen=True)
class PriceFetchEvent:
    job_id: int
    kind: PriceFetchEventKind
    status: FetchJobStatus
    current: int  # symbols finished
    total: int  # symbols asked for
    progress_message: str | None
    at: dt.datetime
    symbol: str | None = None
    result: dict[str, Any] | None = None  # a SymbolResult's JSON, with SYMBOL_FINISHED
    message: str | None = None
    seq: int = 0  # set by the bus

    @classmethod
    def of(cls, job: PriceFetchJob, kind: PriceFetchEventKind, **fields: Any) -> PriceFetchEvent:
        return cls(
            job_id=job.id,
            kind=kind,
            status=FetchJobStatus(job.status),
            current=job.progress_current,
            total=job.progress_total,
            progress_message=job.progress_message,
            at=dt.datetime.now(dt.UTC),
            **fields,
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "jobId": self.job_id,
            "kind": self.kind.value,
            "status": self.status.value,
            "progress": {"current": self.current, "total": self.total, "message": self.progress_message},
            "symbol": self.symbol,
            "result": self.result,
            "message": self.message,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> PriceFetchEvent:
        progress = data["progress"]
        return cls(
            job_id=data["jobId"],
            kind=PriceFetchEventKind(data["kind"]),
            status=FetchJobStatus(data["status"]),
            current=progress["current"],
            total=progress["total"],
            progress_message=progress["message"],
            at=dt.datetime.fromisoformat(data["at"]),
            symbol=data.get("symbol"),
            result=data.get("result"),
            message=data.get("message"),
            seq=data.get("seq", 0),
        )


async def publish_fetch_event(bus: EventBus, job: PriceFetchJob, kind: PriceFetchEventKind, **fields: Any) -> int:
    """Publishes after the caller has written the state the event announces."""
    return await bus.publish(fetch_job_stream(job.id), PriceFetchEvent.of(job, kind, **fields).to_wire())
