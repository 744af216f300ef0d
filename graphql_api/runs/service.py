"""Starting, cancelling, deleting and finding runs, with ownership enforced in one place."""

from __future__ import annotations

import contextlib
import datetime as dt

from redis.exceptions import RedisError
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db_models.accounts import User
from db_models.costs import TradingCosts
from db_models.market import PriceInterval
from db_models.runs import ACTIVE_STATUSES, DEFAULT_MAX_STEPS, IntradaySession, Run, RunStatus, TradingMode
from db_models.trading import TradingModel
from graphql_api.errors import BadUserInput, Conflict, Unavailable
from graphql_api.ids import find_by_global_id
from graphql_api.runs.types import DailyRunInput, IntradayRunInput
from graphql_api.services import Services
from graphql_api.trading_models.validation import check_extra_servers
from tasks.event_contract import RunEventKind, run_stream
from tasks.run_events import publish_run_event
from tasks.schedule import daily_steps, intraday_interval, intraday_steps

MAX_STEPS_LIMIT = 100


async def get_owned_run(user: User, run_id: str) -> Run:
    return await find_by_global_id(Run, "Run", run_id, kind="run", model__owner_id=user.id)


def _check_max_steps(value: int | None) -> int:
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


async def _create_run(model: TradingModel, **fields) -> Run:
    """Creates the QUEUED run; CONFLICT when the model already has an active one."""
    for _ in range(3):
        try:
            async with in_transaction():
                await TradingModel.filter(id=model.id).select_for_update().first()
                if await Run.filter(model_id=model.id, status__in=ACTIVE_STATUSES).exists():
                    raise Conflict("This model already has a queued or running run; wait for it or cancel it.")
                last = await Run.filter(model_id=model.id).order_by("-run_number").first()
                snapshot = snapshot_of(model)
                return await Run.create(
                    model_id=model.id,
                    run_number=(last.run_number if last else 0) + 1,
                    strategy_snapshot=snapshot,
                    used_external_tools=bool(snapshot["external_servers"]),
                    **fields,
                )
        except IntegrityError:
            continue  # a concurrent start took the same run number; look again
    raise Conflict("Another run of this model was started at the same moment; try again.")


def _check_active(model: TradingModel) -> None:
    if not model.is_active:
        raise BadUserInput("This model is inactive; set isActive to true to run it.", field="modelId")


async def start_daily_run(services: Services, model: TradingModel, data: DailyRunInput) -> Run:
    _check_active(model)
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
        max_steps=_check_max_steps(data.max_steps),
        bar_interval=PriceInterval.DAY,
        progress_total=len(steps),
    )
    return await _hand_over(services, run)


async def start_intraday_run(services: Services, model: TradingModel, data: IntradayRunInput) -> Run:
    _check_active(model)
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
        max_steps=_check_max_steps(data.max_steps),
        bar_interval=interval,
        progress_total=len(steps),
    )
    return await _hand_over(services, run)


async def _hand_over(services: Services, run: Run) -> Run:
    """The run is committed; announce it, then give it to a worker.

    If Redis cannot take it (announcement or queue), no worker will ever see the run: it ends FAILED with
    the reason at once, rather than staying QUEUED forever, and the caller gets UNAVAILABLE."""
    try:
        await publish_run_event(services.require_bus(), run, RunEventKind.QUEUED)
        await services.require_dispatcher().enqueue_run(run.id)
    except (RedisError, OSError) as exc:
        reason = "The run could not be handed to a worker: the job queue is unavailable. Start it again shortly."
        failed = await Run.filter(id=run.id, status=RunStatus.QUEUED, worker_id__isnull=True).update(
            status=RunStatus.FAILED, error=reason, ended_at=dt.datetime.now(dt.UTC)
        )
        if failed:
            await run.refresh_from_db()
            with contextlib.suppress(RedisError, OSError):
                await publish_run_event(services.require_bus(), run, RunEventKind.FAILED, message=reason)
        raise Unavailable(reason) from exc
    return run


async def cancel_run(services: Services, user: User, run_id: str) -> Run:
    run = await get_owned_run(user, run_id)
    if run.status not in ACTIVE_STATUSES:
        raise Conflict(f"This run is already {run.status.value.lower()}.")
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
    await services.require_bus().delete(run_stream(run.id))
