"""Runs one backtest or intraday session to its end: the day loop a worker executes.

A run is resumable: a step is finished once its close is on the equity curve, so a run picked up
again (after a worker died) discards the unfinished step's partial rows and continues there. A step's
own writes after the agent's turn (its reasoning log, its no-trade row, its equity point and the usage
counters) are one transaction, so a step is either finished or has left only rows that the discard removes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from agents.llm import load_chat_model, shares_model
from agents.trading.graph import build_trading_graph, run_trading_day, shared_trading_graph
from agents.trading.state import DayContext, DayResult
from db_models.availability import is_unavailable
from db_models.baselines import store_run_baselines
from db_models.ledger import Portfolio, close_step, latest_portfolio
from db_models.log_context import current_run_id
from db_models.market import EXCHANGE_TIMEZONE, EXCHANGE_TZ, PriceInterval
from db_models.metrics import run_performance
from db_models.runs import (
    CORPORATE_ACTIONS,
    ActionType,
    EquityPoint,
    Position,
    ReasoningLog,
    Run,
    RunStatus,
    TradingMode,
)
from db_models.settings import Settings
from tasks.cancel_watch import CancelWatch
from tasks.event_contract import RunEventKind
from tasks.events import EventBus
from tasks.metrics import RUNS_FINISHED, RUNS_STARTED, STEP_SECONDS, ToolLatency, llm_latency
from tasks.run_events import Announcement, publish_run_event, publish_run_events
from tasks.schedule import Step, closes_at, daily_steps, intraday_steps
from tasks.step_actions import RunActions, apply_step_actions
from tasks.tool_sessions import run_tools
from tools.credentials import issue_run_credential
from tools.extra_servers import ExtraServer, ExtraServersError, NotConfigured, chosen_servers

logger = logging.getLogger("aibt.runs")

DAY_ATTEMPTS = 3  # an LLM or tool failure on one step is retried this often, then fails the run
RETRY_DELAY_SECONDS = 1.0


class RunCancelled(Exception):
    pass


class RunFailure(Exception):
    """A reason to fail the run that the user can read as is."""


async def execute_run(run_id: int, *, bus: EventBus, settings: Settings, worker_id: str) -> None:
    current_run_id.set(run_id)
    run = await _claim(run_id, worker_id, settings)
    if run is None:
        return
    heartbeat = asyncio.create_task(_keep_alive(run.id, worker_id, settings.run_stale_seconds / 4))
    try:
        await _execute_claimed(run, bus, settings, worker_id)
    finally:
        heartbeat.cancel()


async def _keep_alive(run_id: int, worker_id: str, every: float) -> None:
    """Shows the reaper this worker still holds the run, even through a long LLM call."""
    while True:
        await asyncio.sleep(every)
        try:
            await Run.filter(id=run_id, worker_id=worker_id).update(heartbeat_at=dt.datetime.now(dt.UTC))
        except Exception as exc:  # a database blip: the next beat tries again
            logger.warning("run %s heartbeat failed: %r", run_id, exc)


async def _execute_claimed(run: Run, bus: EventBus, settings: Settings, worker_id: str) -> None:
    first_attempt = run.attempts == 1
    RUNS_STARTED.inc()
    logger.info("run %s started on %s (attempt %s)", run.id, worker_id, run.attempts)
    if run.cancel_requested:
        await finish_run(run, bus, RunStatus.CANCELLED, message="Cancelled before it started.")
        return
    await publish_run_event(
        bus,
        run,
        RunEventKind.STARTED if first_attempt else RunEventKind.PROGRESS,
        message=None if first_attempt else f"Resumed (attempt {run.attempts}).",
    )
    try:
        await _run_steps(run, bus, settings)
    except Exception as raised:  # every failure ends the run with a reason rather than leaving it RUNNING
        exc = _unwrap(raised)
        if is_unavailable(exc):
            # The database (or Redis) went away: nothing here can be recorded now. The heartbeat stops
            # with this attempt, and the reaper resumes the run at its first unfinished step later.
            logger.warning("run %s paused: a backing service is unavailable (%r)", run.id, exc)
            return
        if isinstance(exc, RunCancelled):
            await finish_run(run, bus, RunStatus.CANCELLED, message="Cancelled by the user.")
            return
        logger.error("run %s failed: %s", run.id, _readable(exc), exc_info=raised)
        await finish_run(run, bus, RunStatus.FAILED, error=_readable(exc))
    else:
        await finish_run(run, bus, RunStatus.COMPLETED)


def _unwrap(exc: BaseException) -> BaseException:
    """The one error inside the task groups that MCP sessions wrap around whatever their block raised."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _readable(exc: BaseException) -> str:
    if isinstance(exc, RunFailure):
        return str(exc)
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:2000]


def claimable(settings: Settings, now: dt.datetime) -> Q:
    """QUEUED, or RUNNING without a live holder: released by the reaper or silent for too long."""
    stale = now - dt.timedelta(seconds=settings.run_stale_seconds)
    orphaned = Q(status=RunStatus.RUNNING) & (Q(worker_id__isnull=True) | Q(heartbeat_at__lt=stale))
    return Q(status=RunStatus.QUEUED) | orphaned


async def _claim(run_id: int, worker_id: str, settings: Settings) -> Run | None:
    """Takes the run for this worker, atomically: a redelivered message and a reaper's re-dispatch of the
    same run cannot both win, and a live worker's run is never taken from it."""
    now = dt.datetime.now(dt.UTC)
    claimed = await Run.filter(claimable(settings, now), id=run_id).update(
        status=RunStatus.RUNNING, worker_id=worker_id, heartbeat_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    run = await Run.get(id=run_id)
    if run.started_at is None:
        run.started_at = now
        await run.save(update_fields=["started_at"])
    return run


async def _steps(run: Run) -> list[Step]:
    snapshot = run.strategy_snapshot
    if run.mode == TradingMode.DAILY:
        return await daily_steps(snapshot["allowed_tickers"], run.start_date, run.end_date)
    return await intraday_steps(run.symbol, run.date, run.session, PriceInterval(run.bar_interval))


def _fills_at(run: Run, step: Step) -> dt.datetime:
    """When this step's orders fill: the day's open (daily) or the next bar (intraday)."""
    return step.clock_at if run.mode == TradingMode.DAILY else step.valued_at


async def _discard_partial_step(run: Run, step: Step) -> None:
    """Removes what an interrupted attempt wrote for this step, so replaying it cannot duplicate rows.

    Splits and dividends applied at the step's open stay: they come before the agent's turn and are
    applied once, so the replayed step finds them done."""
    partial = Position.filter(run_id=run.id, timestamp__gte=_fills_at(run, step))
    await partial.exclude(action__in=CORPORATE_ACTIONS).delete()
    await ReasoningLog.filter(run_id=run.id, timestamp__gte=step.clock_at).delete()
    trades = await Position.filter(run_id=run.id, action__in=[ActionType.BUY, ActionType.SELL]).count()
    await Run.filter(id=run.id).update(total_trades=trades)


async def _run_steps(run: Run, bus: EventBus, settings: Settings) -> None:
    steps = await _steps(run)
    if not steps:
        raise RunFailure("There is no price data for this run's dates.")
    finished = set(await EquityPoint.filter(run_id=run.id).values_list("timestamp", flat=True))
    snapshot = run.strategy_snapshot
    model_id = snapshot["ai_model"]
    llm = load_chat_model(model_id, snapshot.get("parameters", {}), settings, callbacks=[llm_latency(model_id)])
    tool_latency = ToolLatency()
    cancelled = CancelWatch(run.id)
    known_actions = await RunActions.load(snapshot["allowed_tickers"], steps)
    credential = issue_run_credential(settings, run.id)
    async with cancelled, run_tools(credential, extra=_external_servers(snapshot)) as tools:
        # A model shared by the process's runs shares their graph too; one made for this run serves its days.
        graph = shared_trading_graph(llm, tools) if shares_model(model_id) else build_trading_graph(llm, tools)
        hooks = RunHooks(cancelled, tool_latency)
        first_of_attempt = True
        closed: tuple[Portfolio, int] | None = None  # the last step's end, which the next one opens with
        for index, step in enumerate(steps):
            if step.valued_at in finished:
                continue
            if await cancelled():
                raise RunCancelled
            with STEP_SECONDS.time():
                if first_of_attempt:  # only the step an earlier attempt was in can hold partial rows
                    await _discard_partial_step(run, step)
                    first_of_attempt = False
                await _start_step(run, bus, step, index, len(steps))
                start = await _portfolio_at_open(run, bus, steps, index, known_actions, closed)
                result = await _trade_step(run, llm, tools, graph, hooks, step, index, len(steps), start[0])
                closed = await _record_step(run, bus, step, result, start)


def _external_servers(snapshot: dict) -> list[ExtraServer]:
    """The external tool servers named in the run's snapshot, as this worker has them configured."""
    names = [server["name"] for server in snapshot.get("external_servers", [])]
    try:
        return chosen_servers(names)
    except NotConfigured as exc:
        raise RunFailure(f"An external tool server of this run is no longer configured: {exc}.") from None
    except ExtraServersError as exc:
        logger.error("the extra tool servers cannot be used: %s", exc)
        raise RunFailure("The worker's external tool servers are misconfigured; its log says why.") from None


async def _start_step(run: Run, bus: EventBus, step: Step, index: int, total: int) -> None:
    run.clock_at = step.clock_at
    run.progress_current, run.progress_total = index, total
    run.progress_date = step.day
    local = step.clock_at.astimezone(EXCHANGE_TZ)
    run.progress_message = (
        f"Trading {step.day.isoformat()}" if run.mode == TradingMode.DAILY else f"Deciding at {local:%H:%M}"
    )
    run.heartbeat_at = dt.datetime.now(dt.UTC)
    await run.save(
        update_fields=[
            "clock_at",
            "progress_current",
            "progress_total",
            "progress_date",
            "progress_message",
            "heartbeat_at",
        ]
    )
    await publish_run_event(bus, run, RunEventKind.PROGRESS, message=run.progress_message)


async def _portfolio_at_open(
    run: Run,
    bus: EventBus,
    steps: list[Step],
    index: int,
    known: RunActions,
    closed: tuple[Portfolio, int] | None,
) -> tuple[Portfolio, int]:
    """The portfolio the agent's turn starts from and its last action id, after the step's splits and
    dividends (applied at its open, one event each). `closed` is the previous step's end as this worker
    wrote it (nothing else writes the run's positions between its steps), else it is read."""
    portfolio, last_id = closed or await latest_portfolio(run)
    try:
        applied = await apply_step_actions(run, steps, index, held=portfolio.holdings, known=known)
    except ValueError as exc:  # a split's fractional share with no open price to pay it at
        raise RunFailure(f"{steps[index].day.isoformat()}: {exc}") from exc
    await publish_run_events(
        bus, run, [Announcement(RunEventKind.CORPORATE_ACTION, a.message, a.position) for a in applied]
    )
    return await latest_portfolio(run) if applied else (portfolio, last_id)


def _day_context(run: Run, step: Step, index: int, total: int, portfolio: Portfolio) -> DayContext:
    snapshot = run.strategy_snapshot
    local = step.clock_at.astimezone(EXCHANGE_TZ)
    label = f"{local:%Y-%m-%d %H:%M} {EXCHANGE_TIMEZONE}" + (" (open)" if run.mode == TradingMode.DAILY else "")
    return DayContext(
        run_id=run.id,
        mode=str(run.mode),
        day=step.day,
        clock_label=label,
        first_day=index == 0,
        day_index=index,
        total_days=total,
        cash=portfolio.cash,
        holdings=dict(portfolio.holdings),
        allowed_tickers=list(snapshot["allowed_tickers"]),
        custom_rules=snapshot.get("custom_rules"),
        custom_instructions=snapshot.get("custom_instructions"),
        symbol=run.symbol,
    )


@dataclass(frozen=True)
class RunHooks:
    """What a run's days check and time as they go: its cancel flag and its tool calls."""

    cancelled: CancelWatch
    tool_latency: ToolLatency


async def _trade_step(
    run: Run, llm, tools, graph, hooks: RunHooks, step: Step, index: int, total: int, start: Portfolio
) -> DayResult:
    """Runs the agent for one step from the `start` portfolio, retrying a failed attempt from a clean slate
    (its trades discarded, so the portfolio is `start` again) a bounded number of times."""
    context = _day_context(run, step, index, total, start)
    for attempt in range(1, DAY_ATTEMPTS + 1):
        try:
            return await run_trading_day(
                llm=llm,
                tools=tools,
                context=context,
                max_steps=run.max_steps,
                graph=graph,
                should_stop=hooks.cancelled,
                around_tool_call=hooks.tool_latency.timed_tool_call,
            )
        except Exception as exc:
            logger.warning("run %s step %s attempt %s failed: %r", run.id, step.day, attempt, exc)
            if attempt == DAY_ATTEMPTS:
                raise RunFailure(
                    f"{step.day.isoformat()}: the agent failed {DAY_ATTEMPTS} times; last error: {_readable(exc)}"
                ) from exc
            await _discard_partial_step(run, step)
            await asyncio.sleep(RETRY_DELAY_SECONDS * attempt)
    raise AssertionError("unreachable")


async def _record_step(
    run: Run, bus: EventBus, step: Step, result: DayResult, start: tuple[Portfolio, int]
) -> tuple[Portfolio, int]:
    """Finishes the step in one transaction (reasoning log, no-trade row, equity point, usage), then
    announces the log and each of the step's trades; returns the portfolio and last action id it ended with."""
    portfolio, last_id = start
    symbols = sorted({*run.strategy_snapshot["allowed_tickers"], *portfolio.holdings})
    prices = await closes_at(symbols, PriceInterval(run.bar_interval), step.valued_at, step.day)
    async with in_transaction() as connection:
        await ReasoningLog.create(
            run_id=run.id, date=step.day, timestamp=step.clock_at, messages=result.messages, using_db=connection
        )
        try:
            end = await close_step(
                run,
                connection,
                start=portfolio,
                start_action_id=last_id,
                date=step.day,
                fills_at=_fills_at(run, step),
                valued_at=step.valued_at,
                prices=prices,
            )
        except ValueError as exc:  # a held symbol without a close
            raise RunFailure(str(exc)) from exc
        await (
            Run.filter(id=run.id)
            .using_db(connection)
            .update(
                llm_calls=F("llm_calls") + result.llm_calls,
                input_tokens=F("input_tokens") + result.input_tokens,
                output_tokens=F("output_tokens") + result.output_tokens,
            )
        )
    run.llm_calls += result.llm_calls
    run.input_tokens += result.input_tokens
    run.output_tokens += result.output_tokens
    await publish_run_events(
        bus,
        run,
        [
            Announcement(RunEventKind.LOG, f"Reasoning for {step.day.isoformat()} saved."),
            *(Announcement(RunEventKind.TRADE, _trade_words(trade), trade) for trade in end.trades),
        ],
    )
    return end.portfolio, end.last_action_id


def _trade_words(trade: Position) -> str:
    fee = f"; fee {trade.fee:.2f}" if trade.fee else ""
    return f"{trade.action} {trade.amount} {trade.symbol} at {trade.price:.2f}{fee}"


async def _store_baselines(run: Run) -> None:
    """Stores the ended run's baseline curves; when that fails they are computed on read, so the run still ends."""
    try:
        await store_run_baselines(run)
    except Exception:
        logger.exception("run %s: storing its baselines failed", run.id)


async def finish_run(
    run: Run, bus: EventBus, status: RunStatus, *, error: str | None = None, message: str | None = None
) -> None:
    """Writes the final state and the baselines, then announces it: a subscriber that sees the event can read
    the result."""
    figures = await run_performance(run)
    run.status = status
    run.ended_at = dt.datetime.now(dt.UTC)
    run.error = error
    run.total_trades = await Position.filter(run_id=run.id, action__in=[ActionType.BUY, ActionType.SELL]).count()
    if figures is not None:
        run.final_return = figures.total_return
        run.final_portfolio_value = Decimal(str(figures.final_value))
        run.max_drawdown = figures.max_drawdown
    if status == RunStatus.COMPLETED:
        run.progress_current = run.progress_total
        run.progress_message = "Completed"
    await run.save()
    await _store_baselines(run)
    RUNS_FINISHED.labels(str(status)).inc()
    logger.info("run %s finished: %s", run.id, status)
    await publish_run_event(bus, run, RunEventKind(status.value), message=error or message)
