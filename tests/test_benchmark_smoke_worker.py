"""The worker benchmarks (tests/benchmarks/test_concurrent_runs.py, test_llm_round_trip.py) run small on
their own measuring code: 3 remote-model runs x 2 days on the production topology, each run checked to
complete with one trade a day, and the bare-client reference replaying the worker's requests. No timing."""

from __future__ import annotations

import re

import pytest
import pytest_asyncio

from tests.support import benchmark_market as bm
from tests.support.databases import backend
from tests.support.worker_bench import (
    LLM_CALLS_A_DAY,
    measured_batch,
    remote_run_topology,
    replay_with_bare_clients,
    solo_and_batch,
    worker_cpu_per_llm_call,
)

pytestmark = pytest.mark.skipif(backend() != "postgres", reason="The production topology runs in the PostgreSQL pass.")

TICKERS = bm.tickers(2)
DAYS = bm.weekdays(4)
RUN_DAYS = DAYS[-2:]


@pytest_asyncio.fixture(loop_scope="session")
async def market(server_url):
    async with bm.stored_bars(TICKERS, DAYS):
        yield


@pytest.mark.timeout(300)
async def test_concurrent_runs_smoke(settings, tmp_path, market, remote_llm):
    solo, batch = await solo_and_batch(settings, tmp_path, remote_llm, TICKERS, RUN_DAYS, concurrent=3, threads=8)
    assert len(solo.runs) == 1 and len(batch.runs) == 3
    assert batch.llm_calls == 3 * solo.llm_calls == 3 * LLM_CALLS_A_DAY * len(RUN_DAYS)
    assert batch.cpu.used["worker"] > 0


@pytest.mark.timeout(300)
async def test_llm_round_trip_smoke(settings, tmp_path, market, remote_llm):
    worker_ms, requests = await worker_cpu_per_llm_call(settings, tmp_path, remote_llm, TICKERS, RUN_DAYS, runs=3)
    assert len(requests) == 3 * LLM_CALLS_A_DAY * len(RUN_DAYS)
    assert all(request["tools"] for request in requests)
    assert worker_ms > 0
    bare = await replay_with_bare_clients(remote_llm.base_url, requests, passes=1)
    assert bare.calls == len(requests)
    assert bare.openai_ms > 0 and bare.chat_openai_ms > 0


@pytest.mark.timeout(300)
async def test_aibt_worker_processes_each_boot_and_take_runs(settings, tmp_path, market, remote_llm):
    """`aibt worker --processes 2`: two Dramatiq processes, each booted with its own worker id, runs complete."""
    topology = remote_run_topology(settings, tmp_path, TICKERS, 4, RUN_DAYS, threads=4, processes=2)
    async with topology as (api, running, models):
        batch = await measured_batch(api, running, models, remote_llm, RUN_DAYS)
        ready = re.findall(r"worker (\S+) ready", running.log("worker"))
    assert len(batch.runs) == 4
    assert len(set(ready)) == 2, ready
