"""What the worker benchmarks measure and their smokes run: remote-model runs on the production topology,
the CPU each process used meanwhile, and the bare OpenAI clients replaying the same LLM calls.

tests/benchmarks/test_concurrent_runs.py and tests/benchmarks/test_llm_round_trip.py time these;
tests/test_benchmark_smoke_worker.py runs them small, checking the results only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import PASSWORD, SIGNUP, unique_email
from tests.support.graphql_client import GraphQLClient
from tests.support.run_helpers import START_DAILY, follow_run
from tests.support.topology import Topology, production_topology

REMOTE_MODEL = "openai/gpt-5"
LLM_CALLS_A_DAY = 3  # trade_one_share: portfolio, buy, answer
RUNS_PER_ACCOUNT = 10  # several users, each well inside the per-account start-run rate limit
CREATE = """mutation($input: CreateModelInput!) { createModel(input: $input) { id } }"""
RESULT = """query($id: ID!) { run(id: $id) { status error startedAt endedAt totalTrades usage { llmCalls } } }"""


async def remote_models(api: GraphQLClient, count: int, tickers: list[str]) -> list[tuple[str, str]]:
    """`count` trading models on the remote model, spread over accounts: (owner's token, model id) each."""
    models = []
    for i in range(count):
        if i % RUNS_PER_ACCOUNT == 0:
            signup = {"email": unique_email("bench"), "password": PASSWORD}
            token = (await api.data(SIGNUP, signup))["signup"]["token"]
        created = await api.data(
            CREATE, {"input": {"name": f"Bench {i}", "allowedTickers": tickers, "aiModel": REMOTE_MODEL}}, token=token
        )
        models.append((token, created["createModel"]["id"]))
    return models


async def run_batch(
    api: GraphQLClient, ws_url: str, models: list[tuple[str, str]], start: dt.date, end: dt.date
) -> tuple[float, list[dict]]:
    """Starts one daily run per (owner's token, model) at once and follows each to its end; (wall seconds,
    final runs)."""

    async def one(token: str, model_id: str) -> dict:
        run = (
            await api.data(
                START_DAILY,
                {"model": model_id, "input": {"startDate": start.isoformat(), "endDate": end.isoformat()}},
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


def check_runs(runs: list[dict], days: int, llm_calls_per_day: int) -> None:
    """Every run completed, bought one share a day and made the policy's LLM calls."""
    assert all(r["status"] == "COMPLETED" for r in runs), [r["error"] for r in runs if r["error"]]
    assert all(r["totalTrades"] == days for r in runs), [r["totalTrades"] for r in runs]
    assert all(r["usage"]["llmCalls"] == days * llm_calls_per_day for r in runs), [r["usage"] for r in runs]


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
        cores = os.cpu_count() or 1
        self.used["other work on the machine"] = cores * self.used["machine busy"] - sum(self.used.values())

    def report(self, wall: float) -> str:
        return ", ".join(f"{name} {seconds:.1f} s ({seconds / wall:.0%})" for name, seconds in self.used.items())


def peak_overlap(runs: list[dict]) -> int:
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


def span(runs: list[dict]) -> float:
    starts = [dt.datetime.fromisoformat(r["startedAt"]) for r in runs]
    ends = [dt.datetime.fromisoformat(r["endedAt"]) for r in runs]
    return (max(ends) - min(starts)).total_seconds()


@dataclass
class Batch:
    """Runs started at once and followed to their end: wall seconds, final runs, LLM calls, CPU meanwhile."""

    seconds: float
    runs: list[dict]
    llm_calls: int
    cpu: CpuMeter


async def measured_batch(
    api: GraphQLClient, topology: Topology, models: list[tuple[str, str]], fake_llm, days: list[dt.date]
) -> Batch:
    """The models' runs over `days`, started at once, checked and measured."""
    fake_llm.requests.clear()
    with CpuMeter({name: process.pid for name, process in topology.processes.items()}) as cpu:
        seconds, runs = await run_batch(api, topology.ws_url, models, days[0], days[-1])
    check_runs(runs, len(days), LLM_CALLS_A_DAY)
    assert len(fake_llm.requests) == len(runs) * len(days) * LLM_CALLS_A_DAY
    return Batch(seconds, runs, len(fake_llm.requests), cpu)


@asynccontextmanager
async def remote_run_topology(
    settings, tmp_path, tickers: list[str], count: int, days: list[dt.date], *, threads: int, processes: int = 1
) -> AsyncIterator[tuple[GraphQLClient, Topology, list[tuple[str, str]]]]:
    """The production topology with `count` remote-model trading models ready and one warm-up run done
    (imports, connections and pools); the worker's log must hold no traceback at the end."""
    topology_of = production_topology(settings, tmp_path, worker_threads=threads, worker_processes=processes)
    async with topology_of as topology:
        async with httpx.AsyncClient(
            base_url=topology.api_url, timeout=120, limits=httpx.Limits(max_connections=200)
        ) as http:
            api = GraphQLClient(http)
            models = await remote_models(api, count + 1, tickers)
            await run_batch(api, topology.ws_url, models[:1], days[0], days[-1])
            yield api, topology, models[1:]
        worker_log = topology.log("worker")
    assert "Traceback" not in worker_log, worker_log[-5000:]


async def solo_and_batch(
    settings,
    tmp_path,
    fake_llm,
    tickers: list[str],
    days: list[dt.date],
    *,
    concurrent: int,
    threads: int,
    processes: int = 1,
) -> tuple[Batch, Batch]:
    """One run alone, then `concurrent` runs at once, each trading `days`, on one `aibt worker` (of
    `processes` Dramatiq processes)."""
    topology = remote_run_topology(
        settings, tmp_path, tickers, concurrent + 1, days, threads=threads, processes=processes
    )
    async with topology as ready:
        api, topology, models = ready
        solo = await measured_batch(api, topology, models[:1], fake_llm, days)
        batch = await measured_batch(api, topology, models[1:], fake_llm, days)
    return solo, batch


async def worker_cpu_per_llm_call(
    settings, tmp_path, fake_llm, tickers: list[str], days: list[dt.date], *, runs: int
) -> tuple[float, list[dict[str, Any]]]:
    """The worker process's CPU milliseconds per LLM call over `runs` runs at once, and the requests it sent."""
    async with remote_run_topology(settings, tmp_path, tickers, runs, days, threads=64) as (api, topology, models):
        batch = await measured_batch(api, topology, models, fake_llm, days)
    return batch.cpu.used["worker"] * 1000 / batch.llm_calls, list(fake_llm.requests)


@dataclass
class ClientCpu:
    """CPU milliseconds per LLM call of the bare clients replaying a worker's requests, in their own process."""

    calls: int
    openai_ms: float
    chat_openai_ms: float


async def replay_with_bare_clients(base_url: str, requests: list[dict[str, Any]], passes: int) -> ClientCpu:
    """Replays the recorded chat-completion requests `passes` times with the bare openai client and with a
    bare ChatOpenAI (tools bound once), in a fresh process so its CPU is the clients' alone (the fake LLM
    answering them runs in this one, on the event loop this waits on)."""
    payload = json.dumps({"base_url": base_url, "requests": requests, "passes": passes})
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.support.bare_llm_clients"],
        input=payload,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return ClientCpu(**json.loads(done.stdout.strip().splitlines()[-1]))
