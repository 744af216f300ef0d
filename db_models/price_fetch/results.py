"""What a fetch reports per symbol and as a whole; JSON-ready for the fetch job's results."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class SymbolStatus(StrEnum):
    FETCHED = "FETCHED"  # bars or actions were written
    UP_TO_DATE = "UP_TO_DATE"  # nothing was missing, or the provider had nothing new
    FAILED = "FAILED"  # the symbol could not be fetched; nothing of it was written
    NOT_FETCHED = "NOT_FETCHED"  # the fetch stopped before this symbol


@dataclass
class SymbolResult:
    symbol: str
    status: SymbolStatus
    bars_added: int = 0
    bars_updated: int = 0
    first_date: dt.date | None = None  # the range of the bars written
    last_date: dt.date | None = None
    actions_added: int = 0
    requests: int = 0
    message: str | None = None  # why it failed, or what could not be fetched

    def summary(self) -> str:
        if self.status is SymbolStatus.FAILED:
            return f"{self.symbol}: failed: {self.message}"
        if self.status is SymbolStatus.NOT_FETCHED:
            return f"{self.symbol}: not fetched ({self.message})"
        asked = f"{self.requests} request{'s' if self.requests != 1 else ''}"
        if self.status is SymbolStatus.UP_TO_DATE and not self.bars_updated:
            text = f"{self.symbol}: up to date ({asked})"
        else:
            span = f" ({self.first_date}..{self.last_date})" if self.first_date else ""
            updated = f", {self.bars_updated} updated" if self.bars_updated else ""
            actions = f", {self.actions_added} new action{'s' if self.actions_added != 1 else ''}"
            text = f"{self.symbol}: {self.bars_added} bars added{updated}{span}{actions}; {asked}"
        return f"{text}; {self.message}" if self.message else text

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["first_date"] = self.first_date.isoformat() if self.first_date else None
        data["last_date"] = self.last_date.isoformat() if self.last_date else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SymbolResult:
        values = dict(data)
        values["status"] = SymbolStatus(values["status"])
        for key in ("first_date", "last_date"):
            values[key] = dt.date.fromisoformat(values[key]) if values.get(key) else None
        return cls(**values)


@dataclass
class FetchReport:
    results: list[SymbolResult] = field(default_factory=list)
    stopped: str | None = None  # why the fetch stopped before its last symbol
    cancelled: bool = False  # it stopped because it was asked to

    @property
    def failed(self) -> list[str]:
        return [r.symbol for r in self.results if r.status is SymbolStatus.FAILED]

    @property
    def not_fetched(self) -> list[str]:
        return [r.symbol for r in self.results if r.status is SymbolStatus.NOT_FETCHED]

    @property
    def ok(self) -> bool:
        return self.stopped is None and not self.failed

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.results)

    def outcome(self) -> str:
        """One line on the whole fetch, naming what did not succeed."""
        done = sum(r.status in (SymbolStatus.FETCHED, SymbolStatus.UP_TO_DATE) for r in self.results)
        bars = sum(r.bars_added for r in self.results)
        text = f"{done} of {len(self.results)} symbols fetched or up to date, {bars} bars added"
        text += f", {self.requests} requests."
        if self.failed:
            text += f" Failed: {', '.join(self.failed)}."
        if self.stopped:
            text += f" Stopped: {self.stopped}"
            if self.not_fetched:
                text += f" Not fetched: {', '.join(self.not_fetched)} (run the same fetch again later)."
        return text
