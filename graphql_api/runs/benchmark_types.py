"""GraphQL types of the baselines a run (or an arena) is measured against, and the run's figures against them."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from db_models import runs as db
from db_models.baselines import Baseline, RunBaseline, run_baselines
from db_models.runs import Run
from graphql_api.context import AppInfo
from graphql_api.runs.types import EquityPoint, Performance

BenchmarkKind = strawberry.enum(
    db.BenchmarkKind,
    description="BUY_AND_HOLD: the run's tickers in equal parts from the first bar's open; INDEX: one symbol.",
)


@strawberry.type(
    description="What the market did over the same closes: a frictionless holding (fractional shares, the run's "
    "initial cash, corporate actions applied), valued at the timestamps of the run's own equity curve."
)
class Benchmark:
    kind: BenchmarkKind
    symbols: list[str]
    label: str
    equity_curve: list[EquityPoint] = strawberry.field(description="The same timestamps as the run's own curve.")
    performance: Performance

    @classmethod
    def from_baseline(cls, baseline: Baseline) -> Benchmark:
        return cls(
            kind=baseline.spec.kind,
            symbols=list(baseline.spec.symbols),
            label=baseline.spec.label,
            equity_curve=[
                EquityPoint(date=p.date, timestamp=p.timestamp, value=float(p.value), cash=float(p.cash))
                for p in baseline.points
            ],
            performance=Performance.from_figures(baseline.performance),
        )


@strawberry.type(
    description="The run against one benchmark, from the aligned simple returns r (run) and b (benchmark), "
    "risk-free rate 0, P periods a year. Null where undefined (fewer than two returns, a zero variance)."
)
class RelativePerformance:
    benchmark_kind: BenchmarkKind
    benchmark_label: str
    excess_return: float = strawberry.field(description="Total return of the run minus the benchmark's.")
    beta: float | None = strawberry.field(description="cov(r, b) / var(b), ddof 1.")
    alpha: float | None = strawberry.field(description="Jensen's alpha, annualised: (mean(r) - beta × mean(b)) × P.")
    tracking_error: float | None = strawberry.field(description="std(r - b, ddof 1) × sqrt(P).")
    information_ratio: float | None = strawberry.field(description="mean(r - b) × P / tracking error.")
    correlation: float | None = strawberry.field(description="corr(r, b).")

    @classmethod
    def from_run_baseline(cls, item: RunBaseline) -> RelativePerformance:
        figures = item.relative
        return cls(
            benchmark_kind=item.baseline.spec.kind,
            benchmark_label=item.baseline.spec.label,
            excess_return=figures.excess_return,
            beta=figures.beta,
            alpha=figures.alpha,
            tracking_error=figures.tracking_error,
            information_ratio=figures.information_ratio,
            correlation=figures.correlation,
        )


async def baselines_by_run(runs: Sequence[Run]) -> list[list[RunBaseline]]:
    """Each run's baselines, made once per request for both Run.benchmarks and Run.relative."""
    return [await run_baselines(run) for run in runs]


async def run_benchmarks(info: AppInfo, run: Run) -> list[Benchmark]:
    return [Benchmark.from_baseline(item.baseline) for item in await info.context.loader(baselines_by_run).load(run)]


async def run_relative(info: AppInfo, run: Run) -> list[RelativePerformance]:
    items = await info.context.loader(baselines_by_run).load(run)
    return [RelativePerformance.from_run_baseline(item) for item in items]
