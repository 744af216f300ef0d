"""GraphQL types of arenas: the arena, its standings, the input that starts one."""

from __future__ import annotations

import datetime as dt

import strawberry

from db_models import arenas as db
from db_models.runs import DEFAULT_MAX_STEPS, RunStatus
from db_models.standings import Standing, compute_standings
from graphql_api.arenas.loaders import baselines_by_arena, runs_by_arena
from graphql_api.context import AppInfo
from graphql_api.ids import to_global_id
from graphql_api.nodes.types import Node
from graphql_api.runs.benchmark_types import Benchmark
from graphql_api.runs.loaders import performance_by_run
from graphql_api.runs.types import Run, RunEvent
from graphql_api.runs.types import RunStatus as RunStatusType
from tasks import event_contract as contract

ArenaStatus = strawberry.enum(
    db.ArenaStatus,
    description="QUEUED: no run has started; RUNNING: some run is active; once every run has ended, COMPLETED "
    "when all completed, else CANCELLED when one was cancelled, else FAILED.",
)


@strawberry.type(description="One member run of an arena and how it stands, live while the arena runs.")
class ArenaStanding:
    rank: int = strawberry.field(description="By total return, highest first; equal returns share a rank.")
    run: Run
    model_name: str = strawberry.field(description="The model's name when the arena started.")
    ai_model: str
    status: RunStatusType
    total_return: float | None = strawberry.field(description="Null before the run's first close.")
    sharpe_ratio: float | None
    max_drawdown: float | None
    total_trades: int
    total_fees: float = strawberry.field(description="Commissions the run paid.")
    llm_calls: int
    input_tokens: int
    output_tokens: int
    excess_return: float | None = strawberry.field(
        description="Total return minus the arena's buy-and-hold baseline's over the same closes."
    )
    excess_return_over_index: float | None = strawberry.field(
        description="Total return minus the arena's index's over the same closes; null without an index."
    )

    @classmethod
    def from_standing(cls, standing: Standing) -> ArenaStanding:
        row, figures = standing.run, standing.figures
        snapshot = row.strategy_snapshot or {}
        return cls(
            rank=standing.rank,
            run=Run.from_row(row),
            model_name=snapshot.get("name", ""),
            ai_model=snapshot.get("ai_model", ""),
            status=RunStatus(row.status),
            total_return=None if figures is None else figures.total_return,
            sharpe_ratio=None if figures is None else figures.sharpe_ratio,
            max_drawdown=None if figures is None else figures.max_drawdown,
            total_trades=row.total_trades,
            total_fees=0.0 if figures is None else figures.total_fees,
            llm_calls=row.llm_calls,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            excess_return=standing.excess_return,
            excess_return_over_index=standing.excess_return_over_index,
        )


@strawberry.type(description="Several of your models over the same days, one daily run each, ranked together.")
class Arena(Node):
    row: strawberry.Private[db.Arena]
    id: strawberry.ID
    name: str
    start_date: dt.date
    end_date: dt.date
    max_steps: int
    benchmark_symbol: str | None
    created_at: dt.datetime
    ended_at: dt.datetime | None = strawberry.field(description="When the last run ended.")

    @classmethod
    def from_row(cls, row: db.Arena) -> Arena:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Arena", row.id)),
            name=row.name,
            start_date=row.start_date,
            end_date=row.end_date,
            max_steps=row.max_steps,
            benchmark_symbol=row.benchmark_symbol,
            created_at=row.created_at,
            ended_at=row.ended_at,
        )

    async def _runs(self, info: AppInfo):
        return await info.context.loader(runs_by_arena).load(self.row.id)

    @strawberry.field
    async def status(self, info: AppInfo) -> ArenaStatus:
        return db.arena_status(run.status for run in await self._runs(info))

    @strawberry.field(description="The member runs, in the order of the modelIds the arena started with.")
    async def runs(self, info: AppInfo) -> list[Run]:
        return [Run.from_row(run) for run in await self._runs(info)]

    @strawberry.field(
        description="BUY_AND_HOLD of every member's tickers in equal parts, from the first member's initial cash, "
        "and INDEX when the arena names a benchmarkSymbol; valued at every close of any member."
    )
    async def benchmarks(self, info: AppInfo) -> list[Benchmark]:
        return [Benchmark.from_baseline(b) for b in await info.context.loader(baselines_by_arena).load(self.row)]

    @strawberry.field(description="The runs ranked by total return, with their risk, activity and excess return.")
    async def standings(self, info: AppInfo) -> list[ArenaStanding]:
        runs = await self._runs(info)
        baselines = await info.context.loader(baselines_by_arena).load(self.row)
        figures = await info.context.loader(performance_by_run).load_many(runs)  # batched across the page
        return [ArenaStanding.from_standing(s) for s in await compute_standings(runs, figures, baselines)]


@strawberry.input
class StartArenaInput:
    name: str
    model_ids: list[strawberry.ID] = strawberry.field(description="2 to 20 of your models, each run once.")
    start_date: dt.date
    end_date: dt.date
    max_steps: int | None = strawberry.field(
        default=DEFAULT_MAX_STEPS, description="Most agent steps (LLM turns) per trading day."
    )
    benchmark_symbol: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The index the arena is measured against besides its buy-and-hold. Omitted: QQQ when its "
        "prices cover the arena's first and last day, else none; null: none.",
    )


ArenaEventKind = strawberry.enum(
    contract.ArenaEventKind, description="RUN: a member run's event; ENDED: the arena's last event."
)


@strawberry.type(description="An event of an arena: a member run's event, or ENDED once every run has ended.")
class ArenaEvent:
    seq: int = strawberry.field(description="Strictly increasing per arena, starting at 1, with no gaps.")
    arena_id: strawberry.ID
    kind: ArenaEventKind
    run_id: strawberry.ID | None = strawberry.field(description="The member run a RUN event belongs to.")
    run_event: RunEvent | None = strawberry.field(
        description="The run's event as runEvents carries it (its seq is the run's own)."
    )
    status: ArenaStatus | None = strawberry.field(description="ENDED: the arena's final status.")
    at: dt.datetime
    # The same for every subscriber: executed once per process (graphql_api/shared_events.py).
    event_key: strawberry.Private[tuple[str, int, int] | None] = None

    @classmethod
    def from_event(cls, event: contract.ArenaEvent) -> ArenaEvent:
        seq, member = event.published_seq(), event.run_event
        return cls(
            seq=seq,
            arena_id=strawberry.ID(to_global_id("Arena", event.arena_id)),
            kind=event.kind,
            run_id=None if member is None else strawberry.ID(to_global_id("Run", member.run_id)),
            run_event=None if member is None else RunEvent.from_event(member),
            status=event.status,
            at=event.at,
            event_key=("arena", event.arena_id, seq),
        )
