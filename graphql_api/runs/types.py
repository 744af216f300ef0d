"""GraphQL types of runs and what they produce."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from db_models import runs as db
from db_models.costs import TradingCosts as CostsValue
from db_models.metrics import PerformanceFigures
from graphql_api.context import AppInfo
from graphql_api.ids import to_global_id
from graphql_api.nodes.types import Node
from graphql_api.pagination import Connection, paginate
from graphql_api.runs.loaders import RunFigures, asks_for_trade_figures, curve_figures_by_key, figures_by_key
from graphql_api.trading_models.costs import TradingCosts
from graphql_api.trading_models.loaders import models_by_id
from tasks import event_contract as contract

if TYPE_CHECKING:
    from graphql_api.arenas.types import Arena
    from graphql_api.runs.benchmark_types import Benchmark, RelativePerformance
    from graphql_api.trading_models.types import TradingModel

RunStatus = strawberry.enum(db.RunStatus)
TradingMode = strawberry.enum(db.TradingMode)
IntradaySession = strawberry.enum(db.IntradaySession)
ActionType = strawberry.enum(db.ActionType)
RunEventKind = strawberry.enum(contract.RunEventKind)


def _money(value: Decimal | str | None) -> float | None:
    return None if value is None else float(value)


@strawberry.type
class RunProgress:
    current: int
    total: int
    message: str | None
    current_date: dt.date | None

    @classmethod
    def from_event(cls, progress: contract.RunProgress) -> RunProgress:
        return cls(
            current=progress.current,
            total=progress.total,
            message=progress.message,
            current_date=progress.current_date,
        )


@strawberry.type
class TokenUsage:
    llm_calls: int
    input_tokens: int
    output_tokens: int


@strawberry.type(
    description=(
        "One action of a run and the portfolio right after it: a BUY or SELL, a NO_TRADE step, or a SPLIT or "
        "DIVIDEND applied at its ex-date's open."
    )
)
class Position(Node):
    id: strawberry.ID
    date: dt.date = strawberry.field(description="The trading day; for a SPLIT or DIVIDEND, its ex-date.")
    timestamp: dt.datetime
    action_id: int
    action: ActionType
    symbol: str | None
    amount: int | None = strawberry.field(
        description="Shares traded; for a SPLIT or DIVIDEND, the shares it affected (those held before it)."
    )
    price: float | None = strawberry.field(
        description=(
            "A trade's fill price, after slippage; a SPLIT's ratio (new shares per old share, 0.1 for 1-for-10); "
            "a DIVIDEND's cash per share."
        )
    )
    holdings: JSON = strawberry.field(description='Shares held after the action, e.g. {"AAPL": 10}.')
    cash: float = strawberry.field(
        description="Cash after the action: net of the fee, with a dividend or a split's cash in lieu credited."
    )
    fee: float = strawberry.field(description="The commission the trade paid in cash; 0 for other actions.")

    @classmethod
    def from_row(cls, row: db.Position) -> Position:
        return cls(
            id=strawberry.ID(to_global_id("Position", row.id)),
            date=row.date,
            timestamp=row.timestamp,
            action_id=row.action_id,
            action=row.action,
            symbol=row.symbol,
            amount=row.amount,
            price=_money(row.price),
            holdings=row.holdings,
            cash=float(row.cash),
            fee=float(row.fee),
        )

    @classmethod
    def from_event(cls, position: contract.Position) -> Position:
        return cls(
            id=strawberry.ID(to_global_id("Position", position.pk)),
            date=position.date,
            timestamp=position.timestamp,
            action_id=position.action_id,
            action=position.action,
            symbol=position.symbol,
            amount=position.amount,
            price=_money(position.price),
            holdings=dict(position.holdings),
            cash=float(position.cash),
            fee=float(position.fee),
        )


@strawberry.type
class ReasoningLog(Node):
    id: strawberry.ID
    date: dt.date
    timestamp: dt.datetime
    messages: JSON = strawberry.field(
        description="The agent's message history for that step: role, content, tool calls."
    )

    @classmethod
    def from_row(cls, row: db.ReasoningLog) -> ReasoningLog:
        return cls(
            id=strawberry.ID(to_global_id("ReasoningLog", row.id)),
            date=row.date,
            timestamp=row.timestamp,
            messages=row.messages,
        )


@strawberry.type
class EquityPoint:
    date: dt.date
    timestamp: dt.datetime
    value: float
    cash: float


@strawberry.type
class Performance:
    initial_value: float
    final_value: float
    total_return: float
    annualized_return: float | None
    volatility: float | None
    sharpe_ratio: float | None
    sortino_ratio: float | None
    max_drawdown: float
    win_rate: float | None = strawberry.field(
        description=(
            "The share of sells whose proceeds, net of their fee, beat the cost of the shares sold (average cost "
            "with buy fees, divided by any split since); null before the first sell."
        )
    )
    total_trades: int
    trading_days: int
    total_fees: float = strawberry.field(description="Commissions paid on every BUY and SELL.")
    total_dividends: float = strawberry.field(description="Cash the held shares' dividends brought in.")

    @classmethod
    def from_figures(cls, figures: PerformanceFigures) -> Performance:
        return cls(**{name: getattr(figures, name) for name in cls.__annotations__})


async def performance_of(info: AppInfo, row: db.Run, model_cash: Decimal | None = None) -> Performance | None:
    """A run's figures, batched across the request; actions are read only when a figure needs them.
    `model_cash`: the initial cash of the run's model, when the caller has read the model."""
    loader = figures_by_key if asks_for_trade_figures(info) else curve_figures_by_key
    figures = await info.context.loader(loader).load(RunFigures(row, model_cash))
    return None if figures is None else Performance.from_figures(figures)


def positions_query(run_id: int, start: dt.date | None = None, end: dt.date | None = None):
    query = db.Position.filter(run_id=run_id)
    if start is not None:
        query = query.filter(date__gte=start)
    if end is not None:
        query = query.filter(date__lte=end)
    return query


def logs_query(run_id: int, day: dt.date | None = None):
    query = db.ReasoningLog.filter(run_id=run_id)
    return query if day is None else query.filter(date=day)


@strawberry.type(description="One execution of a model: a daily backtest or an intraday session.")
class Run(Node):
    row: strawberry.Private[db.Run]
    id: strawberry.ID
    run_number: int
    mode: TradingMode
    status: RunStatus
    created_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    strategy_snapshot: JSON = strawberry.field(
        description="Frozen copy of the model's rules, instructions, aiModel, parameters, tickers and cash at start."
    )
    start_date: dt.date | None
    end_date: dt.date | None
    max_steps: int
    symbol: str | None
    date: dt.date | None
    session: IntradaySession | None
    error: str | None
    total_trades: int
    final_return: float | None
    final_portfolio_value: float | None
    max_drawdown: float | None
    used_external_tools: bool = strawberry.field(
        description="The agent had tools of external MCP servers (strategySnapshot.external_servers lists them). "
        "Those are not bound to the run's clock: a backtest's agent may have read what came after its dates."
    )
    benchmark_symbol: str | None = strawberry.field(
        description="The index the run is measured against besides its own buy-and-hold; null for none."
    )

    @classmethod
    def from_row(cls, row: db.Run) -> Run:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Run", row.id)),
            run_number=row.run_number,
            mode=row.mode,
            status=row.status,
            created_at=row.created_at,
            started_at=row.started_at,
            ended_at=row.ended_at,
            strategy_snapshot=row.strategy_snapshot,
            start_date=row.start_date,
            end_date=row.end_date,
            max_steps=row.max_steps,
            symbol=row.symbol,
            date=row.date,
            session=row.session,
            error=row.error,
            total_trades=row.total_trades,
            final_return=row.final_return,
            final_portfolio_value=_money(row.final_portfolio_value),
            max_drawdown=row.max_drawdown,
            used_external_tools=row.used_external_tools,
            benchmark_symbol=row.benchmark_symbol,
        )

    @strawberry.field
    async def model(
        self, info: AppInfo
    ) -> Annotated[TradingModel, strawberry.lazy("graphql_api.trading_models.types")]:
        # TradingModel's module imports this one: the class is looked up when the field first resolves.
        from graphql_api.trading_models.types import TradingModel

        return TradingModel.from_row(await info.context.loader(models_by_id).load(self.row.model_id))

    @strawberry.field
    def progress(self) -> RunProgress:
        row = self.row
        return RunProgress(
            current=row.progress_current,
            total=row.progress_total,
            message=row.progress_message,
            current_date=row.progress_date,
        )

    @strawberry.field(description="The commission, slippage and position cap this run trades with (its snapshot's).")
    def costs(self) -> TradingCosts:
        return TradingCosts.from_costs(CostsValue.from_snapshot(self.row.strategy_snapshot.get("costs")))

    @strawberry.field(description="LLM calls and tokens the run has spent so far.")
    def usage(self) -> TokenUsage:
        return TokenUsage(
            llm_calls=self.row.llm_calls, input_tokens=self.row.input_tokens, output_tokens=self.row.output_tokens
        )

    @strawberry.field
    async def positions(self, first: int | None = 100, after: str | None = None) -> Connection[Position]:
        return await paginate(
            positions_query(self.row.id), to_node=Position.from_row, first=first, after=after, key="action_id"
        )

    @strawberry.field
    async def logs(
        self, date: dt.date | None = None, first: int | None = 50, after: str | None = None
    ) -> Connection[ReasoningLog]:
        return await paginate(logs_query(self.row.id, date), to_node=ReasoningLog.from_row, first=first, after=after)

    @strawberry.field
    async def performance(self, info: AppInfo) -> Performance | None:
        return await performance_of(info, self.row)

    @strawberry.field(description="Portfolio value at each day's close (daily) or each bar's close (intraday).")
    async def equity_curve(self) -> list[EquityPoint]:
        rows = await db.EquityPoint.filter(run_id=self.row.id).order_by("timestamp")
        return [EquityPoint(date=p.date, timestamp=p.timestamp, value=float(p.value), cash=float(p.cash)) for p in rows]

    @strawberry.field(
        description="What the market did over the run's closes: BUY_AND_HOLD always, INDEX when the run names a "
        "benchmarkSymbol. Live while the run runs (never past its latest close), stored when it ends."
    )
    async def benchmarks(
        self, info: AppInfo
    ) -> list[Annotated[Benchmark, strawberry.lazy("graphql_api.runs.benchmark_types")]]:
        from graphql_api.runs.benchmark_types import run_benchmarks

        return await run_benchmarks(info, self.row)

    @strawberry.field(description="The run against each of its benchmarks, in the order of `benchmarks`.")
    async def relative(
        self, info: AppInfo
    ) -> list[Annotated[RelativePerformance, strawberry.lazy("graphql_api.runs.benchmark_types")]]:
        from graphql_api.runs.benchmark_types import run_relative

        return await run_relative(info, self.row)

    @strawberry.field(description="The arena the run competes in, if any.")
    async def arena(self, info: AppInfo) -> Annotated[Arena, strawberry.lazy("graphql_api.arenas.types")] | None:
        if self.row.arena_id is None:
            return None
        from graphql_api.arenas.loaders import arenas_by_id
        from graphql_api.arenas.types import Arena

        row = await info.context.loader(arenas_by_id).load(self.row.arena_id)
        return None if row is None else Arena.from_row(row)


@strawberry.type
class RunEvent:
    seq: int = strawberry.field(description="Strictly increasing per run, starting at 1, with no gaps.")
    run_id: strawberry.ID
    kind: RunEventKind
    status: RunStatus
    progress: RunProgress | None
    message: str | None
    position: Position | None
    at: dt.datetime
    # The same for every subscriber: its selection is executed once per process (graphql_api/shared_events.py).
    event_key: strawberry.Private[tuple[str, int, int] | None] = None

    @classmethod
    def from_event(cls, event: contract.RunEvent) -> RunEvent:
        seq = event.published_seq()
        return cls(
            seq=seq,
            run_id=strawberry.ID(to_global_id("Run", event.run_id)),
            kind=event.kind,
            status=event.status,
            progress=RunProgress.from_event(event.progress),
            message=event.message,
            position=None if event.position is None else Position.from_event(event.position),
            at=event.at,
            event_key=("run", event.run_id, seq),
        )


BENCHMARK_SYMBOL_HELP = (
    "The index to measure the run against besides its own buy-and-hold. Omitted: QQQ when QQQ's prices cover "
    "the run's first and last close, else none; null: none."
)


@strawberry.input
class DailyRunInput:
    start_date: dt.date
    end_date: dt.date
    max_steps: int | None = strawberry.field(
        default=db.DEFAULT_MAX_STEPS, description="Most agent steps (LLM turns) per trading day."
    )
    benchmark_symbol: str | None = strawberry.field(default=strawberry.UNSET, description=BENCHMARK_SYMBOL_HELP)


@strawberry.input
class IntradayRunInput:
    symbol: str
    date: dt.date
    session: IntradaySession | None = db.IntradaySession.REGULAR
    max_steps: int | None = db.DEFAULT_MAX_STEPS
    benchmark_symbol: str | None = strawberry.field(default=strawberry.UNSET, description=BENCHMARK_SYMBOL_HELP)
