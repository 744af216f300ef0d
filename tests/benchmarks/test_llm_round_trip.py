"""The worker's CPU per LLM round trip with a remote model, against the bare clients making the same calls.

The production topology runs (`aibt tools`, `aibt worker`, `aibt serve` with PostgreSQL and Redis); the
LLM is the session's OpenAI-compatible test server (tests/support/fake_openai.py), answering at once. A
batch of remote-model runs (openai/gpt-5, one share a day: three LLM calls and two tool calls a day) is
measured: the worker process's CPU over the batch divided by the LLM calls it made. That is everything
the worker does for a run per LLM call (model call, tool calls, database writes, events), so it bounds
how many runs one worker process overlaps (tests/benchmarks/test_concurrent_runs.py).

The reference replays the very requests the worker sent, in a process of its own: the bare openai client
and a bare ChatOpenAI with its tools bound once, streaming when the worker's requests did.

    AIBT_TEST_DATABASE=postgres .venv/bin/pytest tests/benchmarks/test_llm_round_trip.py -s -q
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.support import benchmark_market as bm
from tests.support.databases import backend
from tests.support.worker_bench import replay_with_bare_clients, worker_cpu_per_llm_call

pytestmark = pytest.mark.skipif(
    backend() != "postgres",
    reason="The production topology (several processes writing at once) needs PostgreSQL and Redis: "
    "run with AIBT_TEST_DATABASE=postgres.",
)

RUNS = 10
RUN_DAYS = 3
REPLAY_PASSES = 3
TICKERS = bm.tickers(2)
DAYS = bm.weekdays(10)


@pytest_asyncio.fixture(loop_scope="session")
async def market(server_url):
    async with bm.stored_bars(TICKERS, DAYS):
        yield


@pytest.mark.timeout(900)
async def test_worker_cpu_per_llm_round_trip(settings, tmp_path, market, remote_llm):
    worker_ms, requests = await worker_cpu_per_llm_call(
        settings, tmp_path, remote_llm, TICKERS, DAYS[-RUN_DAYS:], runs=RUNS
    )
    bare = await replay_with_bare_clients(remote_llm.base_url, requests, REPLAY_PASSES)

    print(
        f"\n[{backend()}] `aibt worker` CPU per LLM round trip, remote model, {RUNS} runs x {RUN_DAYS} days at once "
        f"({len(requests)} LLM calls, each with its share of the run's tool calls, database writes and events)"
    )
    print(f"  worker:                      {worker_ms:6.1f} ms CPU per LLM call")
    print(f"  bare openai client:           {bare.openai_ms:6.1f} ms CPU per call ({bare.calls} replayed calls)")
    print(f"  bare ChatOpenAI, tools bound: {bare.chat_openai_ms:5.1f} ms CPU per call")
    print(
        f"  ratio worker / openai client: {worker_ms / bare.openai_ms:.1f}, "
        f"worker / ChatOpenAI: {worker_ms / bare.chat_openai_ms:.1f}"
    )
