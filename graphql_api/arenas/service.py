"""Starting, cancelling, deleting and finding arenas, with ownership enforced in one place.

An arena starts all its runs or none: every model is checked and every run created in one transaction,
and only then are the runs handed to workers.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db_models.accounts import User
from db_models.arenas import MAX_ARENA_MODELS, MIN_ARENA_MODELS, Arena
from db_models.market import PriceInterval
from db_models.runs import ACTIVE_STATUSES, Run, TradingMode
from db_models.trading import TradingModel
from graphql_api.arenas.types import StartArenaInput
from graphql_api.errors import BadUserInput, Conflict, Unavailable
from graphql_api.ids import find_by_global_id
from graphql_api.one_line import clean_line
from graphql_api.runs import service as runs
from graphql_api.services import Services
from graphql_api.trading_models.service import get_owned_model
from tasks.event_contract import arena_stream, run_stream
from tasks.schedule import daily_steps

MAX_NAME = 100


def arena_scope(user: User) -> dict[str, Any]:
    """The arenas a user may look up by ID: their own."""
    return {"owner_id": user.id}


async def get_owned_arena(user: User, arena_id: str) -> Arena:
    return await find_by_global_id(Arena, "Arena", arena_id, kind="arena", **arena_scope(user))


def check_model_count(model_ids: list[str]) -> None:
    """Checked before anything else, so a refused arena costs nothing, not even rate-limit budget."""
    if not MIN_ARENA_MODELS <= len(model_ids) <= MAX_ARENA_MODELS:
        raise BadUserInput(
            f"An arena needs {MIN_ARENA_MODELS} to {MAX_ARENA_MODELS} models; got {len(model_ids)}.", field="modelIds"
        )
    if len(set(model_ids)) != len(model_ids):
        raise BadUserInput("modelIds names a model more than once; each model runs once.", field="modelIds")


async def _checked_models(user: User, data: StartArenaInput) -> list[TradingModel]:
    models = [await get_owned_model(user, model_id) for model_id in data.model_ids]
    for model in models:
        runs.check_active(model)
        if not await daily_steps(list(model.allowed_tickers), data.start_date, data.end_date):
            raise BadUserInput(
                f"{model.name} has no daily prices of {', '.join(model.allowed_tickers)} between "
                f"{data.start_date} and {data.end_date}.",
                field="modelIds",
            )
    return models


async def start_arena(services: Services, user: User, data: StartArenaInput) -> Arena:
    check_model_count(data.model_ids)
    name = clean_line(data.name, field="name", limit=MAX_NAME)
    if data.start_date > data.end_date:
        raise BadUserInput("startDate must not be after endDate.", field="startDate")
    max_steps = runs.check_max_steps(data.max_steps)
    models = await _checked_models(user, data)
    tickers = sorted({t for model in models for t in model.allowed_tickers})
    days = await daily_steps(tickers, data.start_date, data.end_date)
    benchmark = await runs.choose_benchmark_symbol(data.benchmark_symbol, PriceInterval.DAY, days)
    arena, members = await _create(user, name, data, models, tickers, max_steps, benchmark)
    for index, run in enumerate(members):
        try:
            await runs.hand_over(services, run)
        except Unavailable:
            for unhanded in members[index + 1 :]:  # none of them would ever reach a worker either
                await runs.fail_unhanded(services, unhanded)
            raise
    return arena


async def _create(
    user: User,
    name: str,
    data: StartArenaInput,
    models: list[TradingModel],
    tickers: list[str],
    max_steps: int,
    benchmark: str | None,
) -> tuple[Arena, list[Run]]:
    """The arena and one QUEUED run per model, all or none; CONFLICT when a model already has an active run."""
    for _ in range(3):
        try:
            async with in_transaction():
                arena = await Arena.create(
                    owner_id=user.id,
                    name=name,
                    start_date=data.start_date,
                    end_date=data.end_date,
                    max_steps=max_steps,
                    benchmark_symbol=benchmark,
                    tickers=tickers,
                    initial_cash=models[0].initial_cash,
                )
                members = []
                for model in models:
                    steps = await daily_steps(list(model.allowed_tickers), data.start_date, data.end_date)
                    members.append(
                        await runs.next_run(
                            model,
                            arena_id=arena.id,
                            mode=TradingMode.DAILY,
                            start_date=data.start_date,
                            end_date=data.end_date,
                            max_steps=max_steps,
                            bar_interval=PriceInterval.DAY,
                            progress_total=len(steps),
                            benchmark_symbol=benchmark,
                        )
                    )
                return arena, members
        except IntegrityError:
            continue  # a concurrent start took a run number; look again
    raise Conflict("Another run of one of these models was started at the same moment; try again.")


async def cancel_arena(services: Services, user: User, arena_id: str) -> Arena:
    arena = await get_owned_arena(user, arena_id)
    active = await Run.filter(arena_id=arena.id, status__in=ACTIVE_STATUSES)
    if not active:
        raise Conflict("Every run of this arena has already ended.")
    for run in active:
        await runs.request_cancel(services, run)
    return arena


async def delete_arena(services: Services, user: User, arena_id: str) -> None:
    """Deletes the arena with its runs and their streams; CONFLICT while a run is still active."""
    arena = await get_owned_arena(user, arena_id)
    async with in_transaction():
        if await Run.filter(arena_id=arena.id, status__in=ACTIVE_STATUSES).exists():
            raise Conflict("This arena still has queued or running runs; cancel it first.")
        run_ids = await Run.filter(arena_id=arena.id).values_list("id", flat=True)
        await Arena.filter(id=arena.id).delete()
    bus = services.require_bus()
    for run_id in run_ids:
        await bus.delete(run_stream(run_id))
    await bus.delete(arena_stream(arena.id))
