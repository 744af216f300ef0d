"""DataLoaders of trading models and of what hangs off a model."""

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.expressions import Q, RawSQL

from db_models.runs import Position, Run, RunStatus
from db_models.trading import TradingModel


async def models_by_id(ids: Sequence[int]) -> list[TradingModel | None]:
    rows = {m.id: m for m in await TradingModel.filter(id__in=list(set(ids)))}
    return [rows.get(i) for i in ids]


def _top(table: str, column: str, group: str, extra: str = "") -> RawSQL:
    """The highest `column` among the rows of `table` sharing the outer row's `group`: a correlated
    subquery, so one query returns one row per group on SQLite and PostgreSQL alike."""
    return RawSQL(
        f'(SELECT MAX("top"."{column}") FROM "{table}" "top" WHERE "top"."{group}"="{table}"."{group}"{extra})'
    )


def _top_run_number(status: RunStatus | None = None) -> RawSQL:
    """Each model's highest run number (among its runs with `status`)."""
    return _top("runs", "run_number", "model_id", "" if status is None else f' AND "top"."status"=\'{status.value}\'')


@dataclass(frozen=True)
class RunHeads:
    """A model's run with the highest run number, and its completed run with the highest run number."""

    latest: Run | None = None
    latest_completed: Run | None = None


async def run_heads_by_model(model_ids: Sequence[int]) -> list[RunHeads]:
    """Both heads of every model of a page in one query: at most two rows per model (one when its latest
    run is completed), for the latestRun and the performance of the same model card."""
    rows = await Run.filter(
        Q(run_number=_top_run_number())
        | Q(status=RunStatus.COMPLETED, run_number=_top_run_number(RunStatus.COMPLETED)),
        model_id__in=list(set(model_ids)),
    )
    latest: dict[int, Run] = {}
    completed: dict[int, Run] = {}
    for run in rows:
        if run.model_id not in latest or run.run_number > latest[run.model_id].run_number:
            latest[run.model_id] = run
        if run.status == RunStatus.COMPLETED and (
            run.model_id not in completed or run.run_number > completed[run.model_id].run_number
        ):
            completed[run.model_id] = run
    return [RunHeads(latest.get(i), completed.get(i)) for i in model_ids]


async def latest_position_by_run(run_ids: Sequence[int]) -> list[Position | None]:
    """Each run's last action, in one query (one row per run)."""
    rows = await Position.filter(run_id__in=list(set(run_ids)), action_id=_top("positions", "action_id", "run_id"))
    latest = {position.run_id: position for position in rows}
    return [latest.get(i) for i in run_ids]
