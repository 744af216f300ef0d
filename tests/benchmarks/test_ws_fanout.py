"""1,000 websocket subscribers on one API process: publish-to-receive latency beside raw Redis pub/sub in the
same run, and the API's memory per idle subscription.

The API is `aibt serve` in its own process with Redis; the subscribers are spread over client processes
(tests/support/fanout_client.py), each holding websocket subscribers and, in the same proportion, raw
redis-py subscribers (one connection each) to a plain channel. This process publishes, alternating one
run event (through the event bus, as a worker does) and one raw message, each stamped with time.time().
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest_asyncio
import redis.asyncio as aioredis

from db_models.accounts import User
from db_models.runs import Run, RunStatus, TradingMode
from db_models.trading import TradingModel
from graphql_api.ids import to_global_id
from tasks.event_contract import RunEventKind
from tasks.events import RedisEventBus
from tasks.run_events import publish_run_event
from tests.conftest import PASSWORD, SIGNUP, unique_email
from tests.support.graphql_client import GraphQLClient
from tests.support.processes import clean_env
from tests.support.server import free_port
from tests.support.topology import REDIS_URL, Topology, wait_for_http

SUBSCRIBERS, CLIENT_PROCESSES, EVENTS = 1_000, 4, 40
PUBLISH_EVERY = 0.5  # seconds between pairs (a run event and a raw message): a busy run's pace


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@pytest_asyncio.fixture
async def api_process(settings, server_url, tmp_path):
    prefix = f"aibt-bench-{uuid.uuid4().hex[:8]}:"
    port = free_port()
    env = clean_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=REDIS_URL,
        AIBT_REDIS_PREFIX=prefix,
        AIBT_DATA_DIR=str(settings.data_dir),
        AIBT_SEED_PRICES="0",
        AIBT_START_TOOLS="0",
        # Every subscriber is one account on one address here: the per-user and per-address caps are lifted.
        AIBT_WS_MAX_CONNECTIONS_PER_USER="100000",
        AIBT_WS_MAX_CONNECTIONS_PER_ADDRESS="100000",
        PORT=str(port),
    )
    topology = Topology(api_url=f"http://127.0.0.1:{port}", env=env, logs=tmp_path)
    api = topology.start("api", "serve")
    try:
        await wait_for_http(f"{topology.api_url}/healthz", api, "the API", tmp_path / "api.log")
        yield topology, prefix
    finally:
        topology.stop("api")
        client = aioredis.from_url(REDIS_URL)
        keys = [k async for k in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_fanout_latency_beside_raw_redis_and_memory_per_idle_subscription(api_process):
    topology, prefix = api_process
    async with httpx.AsyncClient(base_url=topology.api_url, timeout=30) as http:
        api = GraphQLClient(http)
        email = unique_email("fanout")
        token = (await api.data(SIGNUP, {"email": email, "password": PASSWORD}))["signup"]["token"]
    owner = await User.get(email=email)
    model = await TradingModel.create(
        owner=owner,
        name="fan-out",
        signature=uuid.uuid4().hex[:12],
        allowed_tickers=["AAPL"],
        initial_cash=10000,
        ai_model="local/momentum",
        parameters={},
    )
    # A run no worker holds: its stream stays open, and only this test publishes on it.
    run = await Run.create(model=model, run_number=1, mode=TradingMode.DAILY, status=RunStatus.RUNNING)
    raw_channel = f"{prefix}raw-bench"
    job = {
        "ws_url": topology.ws_url,
        "token": token,
        "run_id": to_global_id("Run", run.id),
        "redis_url": REDIS_URL,
        "raw_channel": raw_channel,
        "events": EVENTS,
        "websockets": SUBSCRIBERS // CLIENT_PROCESSES,
        "raw": SUBSCRIBERS // CLIENT_PROCESSES,
    }
    pid = topology.processes["api"].pid
    await asyncio.sleep(1)
    rss_before = rss_kb(pid)

    clients = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.fanout_client", json.dumps(job), stdout=asyncio.subprocess.PIPE
        )
        for _ in range(CLIENT_PROCESSES)
    ]
    for client in clients:
        line = await asyncio.wait_for(client.stdout.readline(), 300)
        assert line.strip() == b"READY", line
    await asyncio.sleep(2)  # the subscriptions settle (initial replays, buffers)
    rss_idle = rss_kb(pid)

    bus = RedisEventBus(REDIS_URL, prefix=prefix)
    raw = aioredis.from_url(REDIS_URL)
    try:
        for _ in range(EVENTS):
            await publish_run_event(bus, run, RunEventKind.PROGRESS, message=repr(time.time()))
            await raw.publish(raw_channel, repr(time.time()))
            await asyncio.sleep(PUBLISH_EVERY)
        outputs = [await asyncio.wait_for(client.communicate(), 300) for client in clients]
    finally:
        await bus.close()
        await raw.aclose()
    assert all(client.returncode == 0 for client in clients)
    reports = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    ws = [x for r in reports for x in r["ws"]]
    rr = [x for r in reports for x in r["raw"]]
    assert len(ws) == len(rr) == SUBSCRIBERS // CLIENT_PROCESSES * CLIENT_PROCESSES * EVENTS

    per_subscription = (rss_idle - rss_before) / (SUBSCRIBERS // CLIENT_PROCESSES * CLIENT_PROCESSES)
    print(
        f"\n{SUBSCRIBERS} subscribers, {EVENTS} events, {CLIENT_PROCESSES} client processes "
        f"(every {PUBLISH_EVERY * 1000:.0f} ms one run event and one raw message):"
    )
    print(
        f"  websocket via the API (Redis pub/sub -> one listener -> GraphQL): p50 {quantile(ws, 0.5) * 1000:.2f} ms, "
        f"p99 {quantile(ws, 0.99) * 1000:.2f} ms, max {max(ws) * 1000:.2f} ms, "
        f"mean {statistics.fmean(ws) * 1000:.2f} ms"
    )
    print(
        f"  raw redis-py pub/sub (one connection each):                     p50 {quantile(rr, 0.5) * 1000:.2f} ms, "
        f"p99 {quantile(rr, 0.99) * 1000:.2f} ms, max {max(rr) * 1000:.2f} ms, "
        f"mean {statistics.fmean(rr) * 1000:.2f} ms"
    )
    print(
        f"  ratio p50 {quantile(ws, 0.5) / quantile(rr, 0.5):.1f}x, p99 {quantile(ws, 0.99) / quantile(rr, 0.99):.1f}x"
    )
    print(
        f"  API RSS {rss_before / 1024:.1f} MB -> {rss_idle / 1024:.1f} MB with {SUBSCRIBERS} idle subscriptions: "
        f"{per_subscription:.1f} KB per subscription"
    )
