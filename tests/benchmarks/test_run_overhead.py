"""Platform overhead per trading day: a local model over 252 trading days × 10 tickers, end to end.

The run is started over GraphQL against the in-process test API (embedded dispatcher) and followed over a
websocket until COMPLETED; every tool call goes over MCP streamable HTTP to the tool servers, every
step writes its rows and publishes its events. A local model answers in microseconds, so the time is the
platform's own. Run it on each database:

    .venv/bin/pytest tests/benchmarks/test_run_overhead.py -s -q
    AIBT_TEST_DATABASE=postgres .venv/bin/pytest tests/benchmarks/test_run_overhead.py -s -q
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import pytest
import pytest_asyncio

from db_models.runs import EquityPoint, Position, ReasoningLog
from graphql_api.ids import parse_global_id
from tests.support import benchmark_market as bm
from tests.support.databases import backend
from tests.support.run_helpers import START_DAILY, follow_run, tool_servers_for_runs

TICKERS = bm.tickers(10)
HISTORY_DAYS = 48  # bars before the first trading day, so a 20-bar moving average exists from day one
TRADING_DAYS = 252
DAYS = bm.weekdays(HISTORY_DAYS + TRADING_DAYS)
START, END = DAYS[HISTORY_DAYS], DAYS[-1]

CREATE = """mutation($input: CreateModelInput!) { createModel(input: $input) { id } }"""
RESULT = """query($id: ID!) { run(id: $id) { status error startedAt endedAt totalTrades
  usage { llmCalls inputTokens outputTokens } performance { tradingDays } } }"""


class StatementCounter(logging.Handler):
    """Counts the SQL statements Tortoise sends (it logs each one at DEBUG on tortoise.db_client)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.kinds: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        query = record.args[0] if isinstance(record.args, tuple) and record.args else record.msg
        self.kinds[str(query).lstrip().split(" ", 1)[0].upper()] += 1

    def __enter__(self) -> StatementCounter:
        self._logger = logging.getLogger("tortoise.db_client")
        self._saved = self._logger.level, self._logger.propagate
        self._logger.setLevel(logging.DEBUG)
        self._logger.propagate = False
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._saved[0])
        self._logger.propagate = self._saved[1]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def market(server_url):
    await bm.insert_benchmark_bars(TICKERS, DAYS)
    try:
        async with tool_servers_for_runs() as urls:
            yield urls
    finally:
        await bm.delete_benchmark_bars(TICKERS)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("ai_model", ["local/momentum", "local/buy-and-hold"])
async def test_platform_overhead_per_trading_day(api, ws_url, user, market, ai_model):
    model_id = (
        await api.data(
            CREATE,
            {"input": {"name": f"Overhead {ai_model}", "allowedTickers": TICKERS, "aiModel": ai_model}},
            token=user.token,
        )
    )["createModel"]["id"]
    with StatementCounter() as statements:
        started, cpu_started = time.perf_counter(), time.process_time()
        run = (
            await api.data(
                START_DAILY,
                {
                    "model": model_id,
                    "input": {"startDate": START.isoformat(), "endDate": END.isoformat(), "maxSteps": 30},
                },
                token=user.token,
            )
        )["startDailyRun"]
        events, error = await follow_run(ws_url, user.token, run["id"], after_seq=0, timeout=600)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    result = (await api.data(RESULT, {"id": run["id"]}, token=user.token))["run"]

    assert error is None, error
    assert result["status"] == "COMPLETED", result["error"]
    assert result["performance"]["tradingDays"] == TRADING_DAYS
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))

    pk = parse_global_id("Run", run["id"], kind="run")
    logs = await ReasoningLog.filter(run_id=pk).values_list("messages", flat=True)
    assert len(logs) == TRADING_DAYS
    tool_calls = Counter(m["name"] for day in logs for m in day if m["role"] == "tool")
    positions = await Position.filter(run_id=pk).count()
    curve = await EquityPoint.filter(run_id=pk).count()
    rows = positions + len(logs) + curve
    writes = sum(statements.kinds[k] for k in ("INSERT", "UPDATE", "DELETE"))
    event_kinds = Counter(e["kind"] for e in events)

    print(f"\n[{backend()}] {ai_model}: {TRADING_DAYS} trading days x {len(TICKERS)} tickers, end to end")
    print(f"  total {elapsed:.2f} s  ->  {elapsed / TRADING_DAYS * 1000:.1f} ms per trading day")
    print(
        f"  CPU of this process (API, run loop, tool servers, local model) {cpu:.2f} s -> "
        f"{cpu / TRADING_DAYS * 1000:.1f} ms per trading day (the database server's own CPU not included)"
    )
    print(
        f"  LLM calls {result['usage']['llmCalls']} ({result['usage']['llmCalls'] / TRADING_DAYS:.1f}/day), "
        f"tokens in/out {result['usage']['inputTokens']}/{result['usage']['outputTokens']}"
    )
    print(
        f"  tool calls {sum(tool_calls.values())} ({sum(tool_calls.values()) / TRADING_DAYS:.1f}/day): "
        + ", ".join(f"{name} {n}" for name, n in tool_calls.most_common())
    )
    print(
        f"  DB rows written {rows + 1} (run 1, positions {positions} incl. {result['totalTrades']} trades, "
        f"reasoning logs {len(logs)}, equity points {curve})"
    )
    print(
        f"  SQL statements {sum(statements.kinds.values())} ({sum(statements.kinds.values()) / TRADING_DAYS:.1f}/day;"
        f" writes {writes}, {writes / TRADING_DAYS:.1f}/day): "
        + ", ".join(f"{kind} {n}" for kind, n in statements.kinds.most_common())
    )
    print(
        f"  events published {len(events)} ({len(events) / TRADING_DAYS:.1f}/day): "
        + ", ".join(f"{kind} {n}" for kind, n in event_kinds.most_common())
    )
