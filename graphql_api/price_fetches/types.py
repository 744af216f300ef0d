"""GraphQL types of price fetch jobs and their events."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from db_models import price_fetches as db
from db_models.price_fetch.results import SymbolResult, SymbolStatus
from graphql_api.accounts.loaders import users_by_id
from graphql_api.accounts.types import User
from graphql_api.context import AppInfo
from graphql_api.ids import to_global_id
from graphql_api.market.types import PriceInterval
from graphql_api.nodes.types import Node
from tasks import price_fetch_events as events

PriceFetchStatus = strawberry.enum(db.FetchJobStatus, name="PriceFetchStatus")
PriceFetchSymbolStatus = strawberry.enum(SymbolStatus, name="PriceFetchSymbolStatus")
PriceFetchEventKind = strawberry.enum(events.PriceFetchEventKind, name="PriceFetchEventKind")


@strawberry.input
class FetchPricesInput:
    symbols: list[str] = strawberry.field(default_factory=list, description="Ticker symbols, e.g. AAPL, BRK.B.")
    universe: str | None = strawberry.field(default=None, description="Add a named list of symbols: nasdaq100.")
    from_: dt.date | None = strawberry.field(
        default=None,
        name="from",
        description="First trading date wanted; by default each symbol goes on from its newest stored bar.",
    )
    to: dt.date | None = strawberry.field(default=None, description="Last trading date; by default today.")
    interval: PriceInterval = db.PriceInterval.DAY  # type: ignore[assignment]
    actions: bool = strawberry.field(default=True, description="Fetch splits and dividends too.")


@strawberry.type(description="Symbols finished of all symbols, and what the worker is doing now.")
class PriceFetchProgress:
    current: int
    total: int
    message: str | None


@strawberry.type(description="What the fetch did for one symbol.")
class PriceFetchSymbolResult:
    symbol: str
    status: PriceFetchSymbolStatus
    bars_added: int
    bars_updated: int
    first_date: dt.date | None = strawberry.field(description="The first trading date of the bars written.")
    last_date: dt.date | None
    actions_added: int = strawberry.field(description="New splits and dividends stored.")
    requests: int = strawberry.field(description="Requests made to the provider for this symbol.")
    message: str | None = strawberry.field(description="Why it failed, or what could not be fetched.")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PriceFetchSymbolResult:
        return cls.from_result(SymbolResult.from_json(data))

    @classmethod
    def from_result(cls, result: SymbolResult) -> PriceFetchSymbolResult:
        return cls(
            symbol=result.symbol,
            status=result.status,
            bars_added=result.bars_added,
            bars_updated=result.bars_updated,
            first_date=result.first_date,
            last_date=result.last_date,
            actions_added=result.actions_added,
            requests=result.requests,
            message=result.message,
        )


@strawberry.type(description="An admin's request to fetch prices from Alpha Vantage, run by a worker.")
class PriceFetchJob(Node):
    id: strawberry.ID
    status: PriceFetchStatus
    symbols: list[str]
    interval: PriceInterval
    from_: dt.date | None = strawberry.field(name="from")
    to: dt.date | None
    actions: bool
    progress: PriceFetchProgress
    results: list[PriceFetchSymbolResult] = strawberry.field(description="One entry per finished symbol, in order.")
    error: str | None = strawberry.field(description="Why the fetch stopped before its last symbol.")
    created_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    attempts: int
    cancel_requested: bool = strawberry.field(
        description="cancelPriceFetch asked it to stop; a running job ends CANCELLED at its next call."
    )
    requested_by_id: strawberry.Private[int | None]

    @strawberry.field(description="The admin who asked for it (null once that account is deleted).")
    async def requested_by(self, info: AppInfo) -> User | None:
        if self.requested_by_id is None:
            return None
        row = await info.context.loader(users_by_id).load(self.requested_by_id)
        return None if row is None else User.from_row(row)

    @classmethod
    def from_row(cls, row: db.PriceFetchJob) -> PriceFetchJob:
        return cls(
            id=strawberry.ID(to_global_id("PriceFetchJob", row.id)),
            status=row.status,
            symbols=list(row.symbols),
            interval=row.interval,
            from_=row.start_date,
            to=row.end_date,
            actions=row.with_actions,
            progress=PriceFetchProgress(
                current=row.progress_current, total=row.progress_total, message=row.progress_message
            ),
            results=[PriceFetchSymbolResult.from_json(entry) for entry in row.results],
            error=row.error,
            created_at=row.created_at,
            started_at=row.started_at,
            ended_at=row.ended_at,
            attempts=row.attempts,
            cancel_requested=row.cancel_requested,
            requested_by_id=row.requested_by_id,
        )


@strawberry.type
class PriceFetchEvent:
    seq: int = strawberry.field(description="Strictly increasing per job, starting at 1, with no gaps.")
    job_id: strawberry.ID
    kind: PriceFetchEventKind
    status: PriceFetchStatus
    progress: PriceFetchProgress
    symbol: str | None
    result: PriceFetchSymbolResult | None = strawberry.field(description="With SYMBOL_FINISHED.")
    message: str | None
    at: dt.datetime
    # The same for every subscriber: its selection is executed once per process (graphql_api/shared_events.py).
    event_key: strawberry.Private[tuple[str, int, int] | None] = None

    @classmethod
    def from_event(cls, event: events.PriceFetchEvent) -> PriceFetchEvent:
        seq = event.seq or 0
        return cls(
            seq=seq,
            job_id=strawberry.ID(to_global_id("PriceFetchJob", event.job_id)),
            kind=event.kind,
            status=event.status,
            progress=PriceFetchProgress(
                current=event.progress.current, total=event.progress.total, message=event.progress.message
            ),
            symbol=event.symbol,
            result=None if event.result is None else PriceFetchSymbolResult.from_result(event.result),
            message=event.message,
            at=event.at,
            event_key=("price-fetch", event.job_id, seq),
        )
