"""The fan-out measurement shared by the benchmarks (tests/benchmarks/test_ws_fanout.py, test_api_workers.py)
and their smokes: `aibt serve` processes with Redis, websocket subscribers to one run spread over client
processes (tests/support/fanout_client.py) beside raw redis-py subscribers, and run events published as a
worker publishes them, alternating with raw messages, each stamped with time.time()."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from db_models.accounts import User
from db_models.runs import Run, RunStatus, TradingMode
from db_models.settings import Settings
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


def rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (uvicorn's workers), in KB."""
    total = 0
    for one in [pid, *_children(pid)]:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class FanoutApi:
    topology: Topology
    prefix: str

    @property
    def pid(self) -> int:
        return self.topology.processes["api"].pid


@asynccontextmanager
async def fanout_api(
    settings: Settings, tmp_path: Path, *serve_args: str, **extra_env: str
) -> AsyncIterator[FanoutApi]:
    """`aibt serve *serve_args` with Redis under a private prefix, caps lifted: every subscriber here is one
    account on one address."""
    prefix = extra_env.pop("AIBT_REDIS_PREFIX", f"aibt-bench-{uuid.uuid4().hex[:8]}:")
    port = free_port()
    tmp_path.mkdir(parents=True, exist_ok=True)
    env = clean_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=REDIS_URL,
        AIBT_REDIS_PREFIX=prefix,
        AIBT_DATA_DIR=str(settings.data_dir),
        AIBT_SEED_PRICES="0",
        AIBT_START_TOOLS="0",
        AIBT_WS_MAX_CONNECTIONS_PER_USER="100000",
        AIBT_WS_MAX_CONNECTIONS_PER_ADDRESS="100000",
        PORT=str(port),
        **extra_env,
    )
    topology = Topology(api_url=f"http://127.0.0.1:{port}", env=env, logs=tmp_path)
    api = topology.start("api", "serve", "--log-level", "warning", *serve_args)
    try:
        await wait_for_http(f"{topology.api_url}/healthz", api, "the API", tmp_path / "api.log")
        yield FanoutApi(topology, prefix)
    finally:
        topology.stop("api")
        client = aioredis.from_url(REDIS_URL)
        keys = [k async for k in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def signed_up_run(api: FanoutApi, status: RunStatus = RunStatus.RUNNING) -> tuple[str, Run]:
    """A new account's token and a run of theirs that no worker holds: only the caller publishes on it."""
    async with httpx.AsyncClient(base_url=api.topology.api_url, timeout=30) as http:
        email = unique_email("fanout")
        token = (await GraphQLClient(http).data(SIGNUP, {"email": email, "password": PASSWORD}))["signup"]["token"]
    model = await TradingModel.create(
        owner=await User.get(email=email),
        name="fan-out",
        signature=uuid.uuid4().hex[:12],
        allowed_tickers=["AAPL"],
        initial_cash=10000,
        ai_model="local/momentum",
        parameters={},
    )
    return token, await Run.create(model=model, run_number=1, mode=TradingMode.DAILY, status=status)


@dataclass
class Fanout:
    subscribers: int
    events: int
    ws: list[float] = field(default_factory=list)  # publish-to-receive latencies, seconds
    raw: list[float] = field(default_factory=list)
    seqs: list[list[int]] = field(default_factory=list)  # what each websocket subscriber received, in order
    rss_before_kb: int = 0
    rss_idle_kb: int = 0

    @property
    def kb_per_subscription(self) -> float:
        return (self.rss_idle_kb - self.rss_before_kb) / self.subscribers

    def summary(self) -> str:
        ws = [quantile(self.ws, q) * 1000 for q in (0.5, 0.99)]
        raw = [quantile(self.raw, q) * 1000 for q in (0.5, 0.99)]
        return "\n".join(
            [
                f"  websocket via the API: p50 {ws[0]:.2f} ms, p99 {ws[1]:.2f} ms, max {max(self.ws) * 1000:.2f} ms",
                f"  raw redis-py pub/sub:  p50 {raw[0]:.2f} ms, p99 {raw[1]:.2f} ms, max {max(self.raw) * 1000:.2f} ms",
                f"  ratio p50 {ws[0] / raw[0]:.2f}x, p99 {ws[1] / raw[1]:.2f}x (p99 {ws[1] - raw[1]:+.1f} ms over raw)",
                f"  API RSS {self.rss_before_kb / 1024:.1f} MB -> {self.rss_idle_kb / 1024:.1f} MB with "
                f"{self.subscribers} idle subscriptions: {self.kb_per_subscription:.1f} KB per subscription",
            ]
        )


async def measure_fanout(
    api: FanoutApi,
    *,
    subscribers: int,
    client_processes: int,
    events: int,
    publish_every: float,
    profile_to: str | None = None,
) -> Fanout:
    """Subscribes `subscribers` websockets (and as many raw redis-py subscribers) to one run, publishes
    `events` run events, each followed by a raw message, and collects what every subscriber received. With
    profile_to, py-spy records the API process while the events are published (raw, collapsed stacks)."""
    token, run = await signed_up_run(api)
    per_process = subscribers // client_processes
    job = {
        "ws_url": api.topology.ws_url,
        "token": token,
        "run_id": to_global_id("Run", run.id),
        "redis_url": REDIS_URL,
        "raw_channel": f"{api.prefix}raw-bench",
        "events": events,
        "websockets": per_process,
        "raw": per_process,
    }
    result = Fanout(subscribers=per_process * client_processes, events=events)
    await asyncio.sleep(1)
    result.rss_before_kb = rss_kb(api.pid)
    clients = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.fanout_client", json.dumps(job), stdout=asyncio.subprocess.PIPE
        )
        for _ in range(client_processes)
    ]
    for client in clients:
        line = await asyncio.wait_for(client.stdout.readline(), 600)
        assert line.strip() == b"READY", line
    await asyncio.sleep(2)  # the subscriptions settle
    result.rss_idle_kb = rss_kb(api.pid)
    profiler = _start_profiler(api.pid, profile_to, events * publish_every + 2) if profile_to else None
    bus = RedisEventBus(REDIS_URL, prefix=api.prefix)
    raw = aioredis.from_url(REDIS_URL)
    try:
        for _ in range(events):
            await publish_run_event(bus, run, RunEventKind.PROGRESS, message=repr(time.time()))
            await raw.publish(job["raw_channel"], repr(time.time()))
            await asyncio.sleep(publish_every)
        outputs = [await asyncio.wait_for(client.communicate(), 600) for client in clients]
    finally:
        await bus.close()
        await raw.aclose()
        if profiler is not None:
            profiler.wait(timeout=120)
    assert all(client.returncode == 0 for client in clients)
    for out, _ in outputs:
        report = json.loads(out.decode().strip().splitlines()[-1])
        result.ws += report["ws"]
        result.raw += report["raw"]
        result.seqs += report["seqs"]
    return result


def _start_profiler(pid: int, path: str, seconds: float) -> subprocess.Popen:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [py_spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "100", "-f", "raw", "-o", path]
    if os.environ.get("AIBT_BENCH_PROFILE_SUBPROCESSES"):
        command.append("--subprocesses")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def measure_requests(api: FanoutApi, *, client_processes: int, concurrency: int, seconds: float) -> float:
    """Answers per second to an authenticated query from `client_processes` processes, each keeping
    `concurrency` requests in flight; fails on any error answer."""
    token, _ = await signed_up_run(api)
    job = {"api_url": api.topology.api_url, "token": token, "concurrency": concurrency, "seconds": seconds}
    clients = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.request_load", json.dumps(job), stdout=asyncio.subprocess.PIPE
        )
        for _ in range(client_processes)
    ]
    outputs = [await asyncio.wait_for(client.communicate(), seconds + 120) for client in clients]
    assert all(client.returncode == 0 for client in clients)
    reports = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(report["errors"] for report in reports) == 0, reports
    return sum(report["answered"] / report["seconds"] for report in reports)


@dataclass
class Serving:
    """What one `aibt serve --workers N` gave: requests per second, and a fan-out."""

    requests_per_second: float
    fanout: Fanout


async def measure_serving(
    settings: Settings,
    tmp_path: Path,
    workers: int,
    *,
    request_clients: int,
    concurrency: int,
    request_seconds: float,
    subscribers: int,
    client_processes: int,
    events: int,
    publish_every: float,
) -> Serving:
    async with fanout_api(settings, tmp_path, "--workers", str(workers)) as api:
        rps = await measure_requests(
            api, client_processes=request_clients, concurrency=concurrency, seconds=request_seconds
        )
        fanout = await measure_fanout(
            api,
            subscribers=subscribers,
            client_processes=client_processes,
            events=events,
            publish_every=publish_every,
        )
    return Serving(rps, fanout)
