"""DataLoaders of trading models and of what hangs off a model."""

from collections.abc import Sequence

from db_models.runs import Position, Run
from db_models.trading import TradingModel


async def models_by_id(ids: Sequence[int]) -> list[TradingModel | None]:
    rows = {m.id: m for m in await TradingModel.filter(id__in=list(set(ids)))}
    return [rows.get(i) for i in ids]


async def latest_run_by_model(model_ids: Sequence[int]) -> list[Run | None]:
    """Each model's run with the highest run number, in one query for the whole page."""
    latest: dict[int, Run] = {}
    for run in await Run.filter(model_id__in=list(set(model_ids))).order_by("model_id", "-run_number"):
        latest.setdefault(run.model_id, run)
    return [latest.get(i) for i in model_ids]


async def latest_completed_run_by_model(model_ids: Sequence[int]) -> list[Run | None]:
    latest: dict[int, Run] = {}
    runs = Run.filter(model_id__in=list(set(model_ids)), status="COMPLETED").order_by("model_id", "-run_number")
    for run in await runs:
        latest.setdefault(run.model_id, run)
    return [latest.get(i) for i in model_ids]


async def latest_position_by_run(run_ids: Sequence[int]) -> list[Position | None]:
    latest: dict[int, Position] = {}
    for position in await Position.filter(run_id__in=list(set(run_ids))).order_by("run_id", "-action_id"):
        latest.setdefault(position.run_id, position)
    return [latest.get(i) for i in run_ids]
