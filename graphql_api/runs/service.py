"""Starting, cancelling, deleting and finding runs, with ownership enforced in one place."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import strawberry
from redis.exceptions import RedisError
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db_models.accounts import User
from db_models.baselines import DEFAULT_INDEX, index_covers
from db_models.buy_and_hold import ValuationPoint
from db_models.costs import TradingCosts
from db_models.market import TICKER_PATTERN, PriceInterval
from db_models.runs import ACTIVE_STATUSES, DEFAULT_MAX_STEPS, IntradaySession, Run, RunStatus, TradingMode
from db_models.trading import TradingModel
from graphql_api.errors import BadUserInput, Conflict, Unavailable
from graphql_api.ids import find_by_global_id
from graphql_api.runs.performance_cache import finished_run_figures
from graphql_api.runs.types import DailyRunInput, IntradayRunInput
from graphql_api.services import Services
from graphql_api.trading_models.validation import check_extra_servers
from tasks.event_contract import RunEventKind, run_stream
from tasks.run_events import publish_run_event
from tasks.schedule import Step, daily_steps, intraday_interval, intraday_steps

MAX_STEPS_LIMIT = 100
PRICES_OF = {PriceInterval.DAY: "daily", PriceInterval.HOUR: "hourly", PriceInterval.MINUTE: "minute"}


def run_scope(user: User) -> dict[str, Any]:
    """The runs a user may look up by ID: those of their own models."""
    return {"model__owner_id": user.id}


def run_row_scope(user: User) -> dict[str, Any]:
    """The positions and reasoning logs a user may look up by ID: those of their own runs."""
    return {"run__model__owner_id": user.id}


async def get_owned_run(user: User, run_id: str) -> Run:
    return await find_by_global_id(Run, "Run", run_id, kind="run", **run_scope(user))


async def choose_benchmark_symbol(requested: str | None, interval: PriceInterval, steps: list[Step]) -> str | None:
    """The index a run is measured against: the one asked for (which must have prices at the run's first and
    last close), none when asked for null, else QQQ when its prices cover the run."""
    first, last = (ValuationPoint(s.day, s.valued_at) for s in (steps[0], steps[-1]))
    if requested is strawberry.UNSET:
        return DEFAULT_INDEX if await index_covers(DEFAULT_INDEX, interval, first, last) else None
    if requested is None or not requested.strip():
        return None
    symbol = requested.strip().upper()
    if not TICKER_PATTERN.match(symbol):
        raise BadUserInput(f"benchmarkSymbol {requested!r} is not a ticker symbol.", field="benchmarkSymbol")
    if not await index_covers(symbol, interval, first, last):
        when = f"{first.date} and {last.date}" if first.date != last.date else f"the first and last bar of {first.date}"
        raise BadUserInput(
            f"benchmarkSymbol {symbol} has no {PRICES_OF[interval]} prices on {when} to measure the run against.",
            field="benchmarkSymbol",
        )
    return symbol


def check_max_steps(value: int | None) -> int:
    steps = DEFAULT_MAX_STEPS if value is None else value
    if not 1 <= steps <= MAX_STEPS_LIMIT:
        raise BadUserInput(f"maxSteps must be between 1 and {MAX_STEPS_LIMIT}; got {steps}.", field="maxSteps")
    return steps


def _external_servers(model: TradingModel) -> list[dict]:
    """The external tool servers the run will have, by name and URL (never their headers)."""
    servers = check_extra_servers(list(model.extra_tools or []))
    return [{"name": server.name, "url": server.public_url} for server in servers]


def snapshot_of(model: TradingModel) -> dict:
    """The model as the run will trade it, frozen at start: later edits do not change a run."""
    return {
        "name": model.name,
        "signature": model.signature,
        "ai_model": model.ai_model,
        "parameters": dict(model.parameters or {}),
        "allowed_tickers": list(model.allowed_tickers),
        "initial_cash": str(model.initial_cash),
        "custom_rules": model.custom_rules,
        "custom_instructions": model.custom_instructions,
        "external_servers": _external_servers(model),
        "costs": TradingCosts.of_model(model).to_snapshot(),
    }


async def next_run(model: TradingModel, **fields) -> Run:
    """Creates the model's next QUEUED run inside the caller's transaction; CONFLICT when it has an active one."""
    await TradingModel.filter(id=model.id).select_for_update().first()
    if await Run.filter(model_id=model.id, status__in=ACTIVE_STATUSES).exists():
        raise Conflict(f"{model.name} already has a queued or running run; wait for it or cancel it.")
    last = await Run.filter(model_id=model.id).order_by("-run_number").first()
    snapshot = snapshot_of(model)
    return await Run.create(
        model_id=model.id,
        run_number=(last.run_number if last else 0) + 1,
        strategy_snapshot=snapshot,
        used_external_tools=bool(snapshot["external_servers"]),
        **fields,
    )


async def _create_run(model: TradingModel, **fields) -> Run:
    for _ in range(3):
        try:
            async with in_transaction():
                return await next_run(model, **fields)
        except IntegrityError:
            continue  # a concurrent start took the same run number; look again
    raise Conflict("Another run of this model was started at the same moment; try again.")


def check_active(model: TradingModel) -> None:
    if not model.is_active:
        raise BadUserInput("This model is inactive; set isActive to true to run it.", field="modelId")


async def start_daily_run(services: Services, model: TradingModel, data: DailyRunInput) -> Run:
    check_active(model)
    if data.start_date > data.end_date:
        raise BadUserInput("startDate must not be after endDate.", field="startDate")
    steps = await daily_steps(list(model.allowed_tickers), data.start_date, data.end_date)
    if not steps:
        raise BadUserInput(
            f"No daily prices of {', '.join(model.allowed_tickers)} between {data.start_date} and {data.end_date}.",
            field="startDate",
        )
    run = await _create_run(
        model,
        mode=TradingMode.DAILY,
        start_date=data.start_date,
        end_date=data.end_date,
        max_steps=check_max_steps(data.max_steps),
        bar_interval=PriceInterval.DAY,
        progress_total=len(steps),
        benchmark_symbol=await choose_benchmark_symbol(data.benchmark_symbol, PriceInterval.DAY, steps),
    )
    return await hand_over(services, run)


async def start_intraday_run(services: Services, model: TradingModel, data: IntradayRunInput) -> Run:
    check_active(model)
    symbol = data.symbol.strip().upper()
    if symbol not in model.allowed_tickers:
        raise BadUserInput(f"{symbol} is not one of this model's allowed tickers.", field="symbol")
    session = IntradaySession(data.session or IntradaySession.REGULAR)
    interval = await intraday_interval(symbol, data.date)
    steps = [] if interval is None else await intraday_steps(symbol, data.date, session, interval)
    if interval is None or not steps:
        raise BadUserInput(
            f"No intraday bars of {symbol} in the {session.value.lower()} session of {data.date}.", field="date"
        )
    run = await _create_run(
        model,
        mode=TradingMode.INTRADAY,
        symbol=symbol,
        date=data.date,
        session=session,
        max_steps=check_max_steps(data.max_steps),
        bar_interval=interval,
        progress_total=len(steps),
        benchmark_symbol=await choose_benchmark_symbol(data.benchmark_symbol, interval, steps),
    )
    return await hand_over(services, run)


UNHANDED = "The run could not be handed to a worker: the job queue is unavailable. Start it again shortly."


async def hand_over(services: Services, run: Run) -> Run:
    """The run is committed; announce it, then give it to a worker.

    If Redis cannot take it (announcement or queue), no worker will ever see the run: it ends FAILED with
    the reason at once, rather than staying QUEUED forever, and the caller gets UNAVAILABLE."""
    try:
        await publish_run_event(services.require_bus(), run, RunEventKind.QUEUED)
        await services.require_dispatcher().enqueue_run(run.id)
    except (RedisError, OSError) as exc:
        await fail_unhanded(services, run)
        raise Unavailable(UNHANDED) from exc
    return run


async def fail_unhanded(services: Services, run: Run) -> None:
    """Ends a run no worker was handed FAILED, with the reason (unless a worker took it meanwhile)."""
    failed = await Run.filter(id=run.id, status=RunStatus.QUEUED, worker_id__isnull=True).update(
        status=RunStatus.FAILED, error=UNHANDED, ended_at=dt.datetime.now(dt.UTC)
    )
    if failed:
        await run.refresh_from_db()
        with contextlib.suppress(RedisError, OSError):
            await publish_run_event(services.require_bus(), run, RunEventKind.FAILED, message=UNHANDED)


async def cancel_run(services: Services, user: User, run_id: str) -> Run:
    run = await get_owned_run(user, run_id)
    if run.status not in ACTIVE_STATUSES:
        raise Conflict(f"This run is already {run.status.value.lower()}.")
    return await request_cancel(services, run)


async def request_cancel(services: Services, run: Run) -> Run:
    """Asks the run to stop: a queued one ends here and now, a running one at its next step."""
    await Run.filter(id=run.id).update(cancel_requested=True)
    # A queued run that no worker holds yet ends here; a running one stops at its next step.
    cancelled_now = await Run.filter(id=run.id, status=RunStatus.QUEUED).update(
        status=RunStatus.CANCELLED, ended_at=dt.datetime.now(dt.UTC)
    )
    await run.refresh_from_db()
    if cancelled_now:
        await publish_run_event(
            services.require_bus(), run, RunEventKind.CANCELLED, message="Cancelled before it started."
        )
    return run


async def delete_run(services: Services, user: User, run_id: str) -> None:
    run = await get_owned_run(user, run_id)
    deleted = await Run.filter(id=run.id).exclude(status__in=ACTIVE_STATUSES).delete()
    if not deleted:
        raise Conflict("This run is still queued or running; cancel it first.")
    finished_run_figures.forget_run(run.id)
    await services.require_bus().delete(run_stream(run.id))
