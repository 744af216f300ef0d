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

import os

import pytest
import pytest_asyncio

from tests.support import benchmark_market as bm
from tests.support.databases import backend
from tests.support.fake_openai import trade_one_share
from tests.support.worker_bench import peak_overlap, solo_and_batch, span

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
CLI_DEFAULT_THREADS = 64  # `aibt worker` without --threads


@pytest_asyncio.fixture(loop_scope="session")
async def market(server_url):
    async with bm.stored_bars(TICKERS, DAYS):
        yield


@pytest.fixture
def slow_llm(fake_llm):
    fake_llm.policy, fake_llm.fail_status, fake_llm.delay_seconds = trade_one_share, None, LLM_DELAY_SECONDS
    fake_llm.requests.clear()
    try:
        yield fake_llm
    finally:
        fake_llm.delay_seconds = 0.0


@pytest.mark.timeout(1800)
@pytest.mark.parametrize(
    ("threads", "processes"),
    [(CLI_DEFAULT_THREADS, 1), (8, 1), (CLI_DEFAULT_THREADS, 2)],
    ids=lambda n: str(n),
)
async def test_fifty_concurrent_runs_on_one_worker_versus_one_run(
    settings, tmp_path, market, slow_llm, threads, processes
):
    solo, batch = await solo_and_batch(
        settings,
        tmp_path,
        slow_llm,
        TICKERS,
        DAYS[-RUN_DAYS:],
        concurrent=CONCURRENT,
        threads=threads,
        processes=processes,
    )
    solo_calls = solo.llm_calls
    ratio = batch.seconds / solo.seconds
    print(
        f"\n[{backend()}] `aibt worker --threads {threads} --processes {processes}`, remote model, LLM answering after "
        f"{LLM_DELAY_SECONDS * 1000:.0f} ms, {RUN_DAYS} trading days a run ({solo_calls} LLM calls a run)"
    )
    print(f"  one run alone:        {solo.seconds:6.2f} s wall (worker: {span(solo.runs):.2f} s)")
    print(
        f"  {CONCURRENT} runs at once:     {batch.seconds:6.2f} s wall (worker: {span(batch.runs):.2f} s), "
        f"peak {peak_overlap(batch.runs)} runs RUNNING at the same moment"
    )
    print(f"  CPU, one run:  {solo.cpu.report(solo.seconds)}")
    print(f"  CPU, {CONCURRENT} runs: {batch.cpu.report(batch.seconds)}  [{os.cpu_count()} cores]")
    per_run = batch.cpu.used["worker"] / CONCURRENT
    print(
        f"  worker CPU per run {per_run:.2f} s ({per_run / solo_calls * 1000:.0f} ms per LLM call): "
        f"its {processes} event-loop thread(s) need >= {per_run * CONCURRENT / processes:.1f} s for {CONCURRENT} "
        f"runs, a floor of {per_run * CONCURRENT / processes / solo.seconds:.1f} for the ratio however many threads"
    )
    print(f"  ratio {CONCURRENT} runs / 1 run: {ratio:.2f}  (1.0 = perfect overlap, {CONCURRENT} = one run at a time)")
