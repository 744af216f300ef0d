"""Orphaned runs: released and resumed, or failed after too many lost workers; queued runs whose message
was lost: dispatched again."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker

from db_models.accounts import User
from db_models.runs import Run, RunStatus, TradingMode
from db_models.trading import TradingModel
from tasks.broker import held_first_arguments
from tasks.dispatch import InProcessDispatcher
from tasks.event_contract import run_stream
from tasks.events import InProcessEventBus
from tasks.reaper import reap_orphaned_runs, redispatch_lost_queued_runs
from tests.support.topology import REDIS_URL

LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


async def _running_run(email: str, *, attempts: int, heartbeat: dt.datetime, worker: str | None = "dead-worker") -> Run:
    owner = await User.get(email=email)
    model = await TradingModel.create(
        owner=owner,
        name="Reaped",
        signature=f"reaped-{attempts}-{heartbeat.year}",
        allowed_tickers=["AAPL"],
        initial_cash=Decimal("10000"),
        ai_model="local/momentum",
    )
    return await Run.create(
        model=model,
        run_number=1,
        mode=TradingMode.DAILY,
        status=RunStatus.RUNNING,
        attempts=attempts,
        worker_id=worker,
        heartbeat_at=heartbeat,
        strategy_snapshot={"initial_cash": "10000.00", "allowed_tickers": ["AAPL"]},
    )


async def test_a_run_whose_worker_went_silent_is_released_and_dispatched_again(settings, server_url, user):
    run = await _running_run(user.email, attempts=1, heartbeat=LONG_AGO)
    dispatched: list[int] = []

    async def enqueue(run_id: int) -> None:
        dispatched.append(run_id)

    acted = await reap_orphaned_runs(settings, InProcessEventBus(), enqueue)
    assert run.id in acted and dispatched.count(run.id) == 1
    row = await Run.get(id=run.id)
    assert row.status == RunStatus.RUNNING and row.worker_id is None
    # A second reaper finds nothing left to do: the run is dispatched once.
    assert run.id not in await reap_orphaned_runs(settings, InProcessEventBus(), enqueue)


async def test_a_run_with_a_live_worker_is_left_alone(settings, server_url, user):
    run = await _running_run(user.email, attempts=1, heartbeat=dt.datetime.now(dt.UTC))

    async def enqueue(run_id: int) -> None:
        raise AssertionError("a live run must not be dispatched again")

    assert run.id not in await reap_orphaned_runs(settings, InProcessEventBus(), enqueue)
    assert (await Run.get(id=run.id)).worker_id == "dead-worker"
    await Run.filter(id=run.id).update(status=RunStatus.CANCELLED)  # nobody will ever finish it


async def test_after_the_last_attempt_the_run_fails_with_a_reason_and_its_final_event(settings, server_url, user):
    run = await _running_run(user.email, attempts=settings.max_run_attempts, heartbeat=LONG_AGO)
    bus = InProcessEventBus()

    async def enqueue(run_id: int) -> None:
        raise AssertionError("no further attempt")

    await reap_orphaned_runs(settings, bus, enqueue)
    row = await Run.get(id=run.id)
    assert row.status == RunStatus.FAILED and row.ended_at is not None
    assert f"stopped {settings.max_run_attempts} times" in row.error
    [event] = await bus.replay(run_stream(run.id))
    assert event["kind"] == "FAILED" and event["message"] == row.error


async def test_the_stale_threshold_is_a_setting(settings, server_url, user):
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    run = await _running_run(user.email, attempts=1, heartbeat=recent)
    strict = dataclasses.replace(settings, run_stale_seconds=5)
    dispatched: list[int] = []

    async def enqueue(run_id: int) -> None:
        dispatched.append(run_id)

    assert run.id not in await reap_orphaned_runs(settings, InProcessEventBus(), enqueue)  # default 60 s
    assert run.id in await reap_orphaned_runs(strict, InProcessEventBus(), enqueue)


# --- queued runs that no worker will be handed ------------------------------------------------------------


async def _queued_run(email: str, *, created: dt.datetime) -> Run:
    owner = await User.get(email=email)
    model = await TradingModel.create(
        owner=owner,
        name="Queued",
        signature=f"queued-{uuid.uuid4().hex[:8]}",
        allowed_tickers=["AAPL"],
        initial_cash=Decimal("10000"),
        ai_model="local/momentum",
    )
    run = await Run.create(
        model=model,
        run_number=1,
        mode=TradingMode.DAILY,
        status=RunStatus.QUEUED,
        strategy_snapshot={"initial_cash": "10000.00", "allowed_tickers": ["AAPL"]},
    )
    await Run.filter(id=run.id).update(created_at=created)
    return run


async def test_a_queued_run_that_no_worker_holds_is_dispatched_again_once(settings, server_url, user):
    embedded = dataclasses.replace(settings, redis_url=None)
    lost = await _queued_run(user.email, created=LONG_AGO)  # e.g. queued before the embedded server restarted
    young = await _queued_run(user.email, created=dt.datetime.now(dt.UTC))
    dispatcher = InProcessDispatcher(embedded, InProcessEventBus())
    try:
        redispatched = await redispatch_lost_queued_runs(embedded, dispatcher)
        assert lost.id in redispatched and young.id not in redispatched
        # Its task now holds it (or it has already left QUEUED): a second round leaves it alone.
        assert lost.id not in await redispatch_lost_queued_runs(embedded, dispatcher)
    finally:
        await dispatcher.close()
        await Run.filter(id__in=[lost.id, young.id]).update(status=RunStatus.CANCELLED)


async def test_the_redis_broker_reports_the_runs_it_holds_waiting_delayed_or_in_progress():
    namespace = f"aibt-test-{uuid.uuid4().hex[:8]}"
    broker = RedisBroker(url=REDIS_URL, namespace=namespace)
    broker.declare_queue("runs")
    try:
        broker.enqueue(Message(queue_name="runs", actor_name="run_trading", args=(41, "-"), kwargs={}, options={}))
        broker.enqueue(
            Message(queue_name="runs", actor_name="run_trading", args=(42, "-"), kwargs={}, options={}), delay=60_000
        )
        consumer = broker.consume("runs", prefetch=1, timeout=1000)
        taken = next(consumer)  # a worker took it and has not acknowledged it yet
        assert taken.args[0] == 41
        assert held_first_arguments(broker, "runs") == {41, 42}
        consumer.ack(taken)
        assert held_first_arguments(broker, "runs") == {42}
        consumer.close()
    finally:
        keys = list(broker.client.scan_iter(f"{namespace}:*"))
        if keys:
            broker.client.delete(*keys)
        broker.close()
