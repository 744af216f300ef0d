"""One worker process, 50 concurrent runs whose LLM answers after 200 ms: total time relative to one run.

The runs are I/O-bound (they wait on the LLM), so one worker process should overlap them on its event
loop: ideally 50 runs take about as long as one. The production topology runs here: `aibt tools`,
`aibt worker` and `aibt serve` in their own processes with PostgreSQL and Redis; the LLM is the session's
OpenAI-compatible test server (tests/support/fake_openai.py) in this process, which the worker reaches
through OPENAI_API_BASE. Every run is a remote model (openai/gpt-5) trading one share a day: three LLM
calls (portfolio, buy, answer) and two tool calls per day.

Besides the ratio it prints how many runs were RUNNING at once (`--threads` caps it: each Dramatiq worker
thread waits on its run until the run ends) and the CPU each process used: every async actor of a worker
process shares one event-loop thread, so the worker's CPU per run times the number of runs is a floor on
the batch's wall time that no number of threads lifts (more worker processes do).

    AIBT_TEST_DATABASE=postgres .venv/bin/pytest tests/benchmarks/test_concurrent_runs.py -s -q
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.conftest import PASSWORD, SIGNUP, unique_email
from tests.support import benchmark_market as bm
from tests.support.databases import backend
from tests.support.fake_openai import trade_one_share
from tests.support.graphql_client import GraphQLClient
from tests.support.run_helpers import START_DAILY, follow_run
from tests.support.topology import production_topology

pytestmark = pytest.mark.skipif(
    backend() != "postgres",
    reason="Concurrent runs on a worker process need PostgreSQL (several processes write at once) and Redis: "
    "run with AIBT_TEST_DATABASE=postgres.",
)

CONCURRENT = 50
LLM_DELAY_SECONDS = 0.2
RUN_DAYS = 3
TICKERS = bm.tickers(2)
DAYS = bm.weekdays(30)
START, END = DAYS[-RUN_DAYS], DAYS[-1]
RUNS_PER_ACCOUNT = 10  # several users, each well inside the per-account start-run rate limit
CLI_DEFAULT_THREADS = 64  # `aibt worker` without --threads

CREATE = """mutation($input: CreateModelInput!) { createModel(input: $input) { id } }"""
RESULT = """query($id: ID!) { run(id: $id) { status error startedAt endedAt totalTrades usage { llmCalls } } }"""


@pytest_asyncio.fixture(loop_scope="session")
async def market(server_url):
    await bm.insert_benchmark_bars(TICKERS, DAYS)
    try:
        yield
    finally:
        await bm.delete_benchmark_bars(TICKERS)


@pytest.fixture
def slow_llm(fake_llm):
    fake_llm.policy, fake_llm.fail_status, fake_llm.delay_seconds = trade_one_share, None, LLM_DELAY_SECONDS
    fake_llm.requests.clear()
    try:
        yield fake_llm
    finally:
        fake_llm.delay_seconds = 0.0


async def _run_batch(api: GraphQLClient, ws_url: str, models: list[tuple[str, str]]) -> tuple[float, list[dict]]:
    """Starts one run per (owner's token, model) at once and follows each to its end; (wall seconds, final runs)."""

    async def one(token: str, model_id: str) -> dict:
        run = (
            await api.data(
                START_DAILY,
                {"model": model_id, "input": {"startDate": START.isoformat(), "endDate": END.isoformat()}},
                token=token,
            )
        )["startDailyRun"]
        events, error = await follow_run(ws_url, token, run["id"], after_seq=0, timeout=300)
        assert error is None, error
        assert events[-1]["kind"] == "COMPLETED", events[-1]
        return (await api.data(RESULT, {"id": run["id"]}, token=token))["run"]

    started = time.perf_counter()
    runs = await asyncio.gather(*(one(token, model) for token, model in models))
    return time.perf_counter() - started, list(runs)


def _proc_stats() -> dict[int, tuple[str, list[str]]]:
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, _, tail = (entry / "stat").read_text().rpartition(")")
                stats[int(entry.name)] = (head.partition("(")[2], tail.split())
            except OSError:
                continue
    return stats


def _cpu_seconds(root: int | None, stats: dict[int, tuple[str, list[str]]], *, tree: bool = True) -> float:
    """User + system CPU seconds of a process and (tree=True) its living descendants (a dramatiq worker forks)."""
    if root is None:
        return 0.0
    pids, frontier = set(), {root}
    while frontier:
        pids |= frontier
        frontier = {pid for pid, (_, fields) in stats.items() if int(fields[1]) in frontier} - pids if tree else set()
    ticks = sum(int(stats[pid][1][11]) + int(stats[pid][1][12]) for pid in pids if pid in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def _find(stats: dict[int, tuple[str, list[str]]], command: str) -> int | None:
    """The oldest process of that name whose parent is not of that name (the server's main process)."""
    found = [
        pid
        for pid, (name, fields) in stats.items()
        if name == command and stats.get(int(fields[1]), ("",))[0] != command
    ]
    return min(found) if found else None


def _machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (not idle, not waiting on I/O) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used in a block by each topology process, this process (the fake LLM and the event
    followers), PostgreSQL and Redis (all their databases), and the rest of the machine (other work)."""

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes = processes

    def sample(self) -> dict[str, float]:
        stats = _proc_stats()
        used = {name: _cpu_seconds(pid, stats) for name, pid in self.processes.items()}
        used["this process (fake LLM)"] = _cpu_seconds(os.getpid(), stats, tree=False)
        used["postgres"] = _cpu_seconds(_find(stats, "postgres"), stats)
        used["redis"] = _cpu_seconds(_find(stats, "redis-server"), stats)
        used["machine busy"] = _machine_busy_seconds()
        return used

    def __enter__(self) -> CpuMeter:
        self._before = self.sample()
        return self

    def __exit__(self, *exc: object) -> None:
        after = self.sample()
        self.used = {name: after[name] - self._before[name] for name in after}
        self.used["other work on the machine"] = 2 * self.used["machine busy"] - sum(self.used.values())

    def report(self, wall: float) -> str:
        return ", ".join(f"{name} {seconds:.1f} s ({seconds / wall:.0%})" for name, seconds in self.used.items())


def _peak_overlap(runs: list[dict]) -> int:
    """The most runs that were RUNNING at the same moment, from their startedAt/endedAt."""
    edges = sorted(
        [(dt.datetime.fromisoformat(r["startedAt"]), 1) for r in runs]
        + [(dt.datetime.fromisoformat(r["endedAt"]), -1) for r in runs]
    )
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def _span(runs: list[dict]) -> float:
    starts = [dt.datetime.fromisoformat(r["startedAt"]) for r in runs]
    ends = [dt.datetime.fromisoformat(r["endedAt"]) for r in runs]
    return (max(ends) - min(starts)).total_seconds()


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("threads", [CLI_DEFAULT_THREADS, 8], ids=lambda n: f"{n}-threads")
async def test_fifty_concurrent_runs_on_one_worker_versus_one_run(settings, tmp_path, market, slow_llm, threads):
    async with production_topology(settings, tmp_path, worker_threads=threads) as topology:
        async with httpx.AsyncClient(
            base_url=topology.api_url, timeout=120, limits=httpx.Limits(max_connections=200)
        ) as http:
            api = GraphQLClient(http)
            models = []
            for i in range(CONCURRENT + 2):
                if i % RUNS_PER_ACCOUNT == 0:
                    signup = {"email": unique_email("bench"), "password": PASSWORD}
                    token = (await api.data(SIGNUP, signup))["signup"]["token"]
                created = await api.data(
                    CREATE,
                    {"input": {"name": f"Concurrent {i}", "allowedTickers": TICKERS, "aiModel": "openai/gpt-5"}},
                    token=token,
                )
                model = created["createModel"]["id"]
                models.append((token, model))
            await _run_batch(api, topology.ws_url, models[:1])  # warm-up: imports, connections, pools
            slow_llm.requests.clear()
            meter = {name: process.pid for name, process in topology.processes.items()}
            with CpuMeter(meter) as solo_cpu:
                solo_seconds, solo = await _run_batch(api, topology.ws_url, models[1:2])
            solo_calls = len(slow_llm.requests)
            slow_llm.requests.clear()
            with CpuMeter(meter) as batch_cpu:
                batch_seconds, batch = await _run_batch(api, topology.ws_url, models[2:])
            batch_calls = len(slow_llm.requests)
        worker_log = topology.log("worker")

    assert "Traceback" not in worker_log, worker_log[-5000:]
    assert all(r["status"] == "COMPLETED" for r in solo + batch), [r["error"] for r in solo + batch if r["error"]]
    assert solo[0]["usage"]["llmCalls"] == solo_calls == 3 * RUN_DAYS
    assert batch_calls == CONCURRENT * solo_calls
    assert all(r["totalTrades"] == RUN_DAYS for r in solo + batch)

    ratio = batch_seconds / solo_seconds
    print(
        f"\n[{backend()}] one `aibt worker --threads {threads}` process, remote model, LLM answering after "
        f"{LLM_DELAY_SECONDS * 1000:.0f} ms, {RUN_DAYS} trading days a run ({solo_calls} LLM calls a run)"
    )
    print(f"  one run alone:        {solo_seconds:6.2f} s wall (worker: {_span(solo):.2f} s)")
    print(
        f"  {CONCURRENT} runs at once:     {batch_seconds:6.2f} s wall (worker: {_span(batch):.2f} s), "
        f"peak {_peak_overlap(batch)} runs RUNNING at the same moment"
    )
    print(f"  CPU, one run:  {solo_cpu.report(solo_seconds)}")
    print(f"  CPU, {CONCURRENT} runs: {batch_cpu.report(batch_seconds)}  [{os.cpu_count()} cores]")
    per_run = batch_cpu.used["worker"] / CONCURRENT
    print(
        f"  worker CPU per run {per_run:.2f} s ({per_run / solo_calls * 1000:.0f} ms per LLM call): "
        f"its one event-loop thread needs >= {per_run * CONCURRENT:.1f} s for {CONCURRENT} runs, a floor of "
        f"{per_run * CONCURRENT / solo_seconds:.1f} for the ratio however many threads or cores"
    )
    print(f"  ratio {CONCURRENT} runs / 1 run: {ratio:.2f}  (1.0 = perfect overlap, {CONCURRENT} = one run at a time)")
