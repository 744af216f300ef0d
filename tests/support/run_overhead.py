"""Measures the platform's overhead per trading day of a run with a local model, against a side-by-side reference.

The run is started over GraphQL against the in-process test API (embedded dispatcher) and followed over a
websocket until COMPLETED; every tool call goes over MCP streamable HTTP to the tool servers, every step
writes its rows and publishes its events. The time spent in tool calls and in model calls is read from the
worker's own metrics (overlapping tool calls counted once), so the run loop's share (total minus both) shows
apart from the tools'.

The reference is the same strategy computed directly over the same bars in this process, with no platform:
no database, no MCP, no agent loop, no events. It must reach the same trades as the run, so the figure is
the price of the platform around an identical result.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from prometheus_client import REGISTRY

from agents.local_models import LONG_WINDOW, SHORT_WINDOW
from db_models.ledger import initial_cash
from db_models.market import PriceBar, PriceInterval
from db_models.runs import EquityPoint, Position, ReasoningLog, Run
from graphql_api.ids import parse_global_id
from tests.support import benchmark_market as bm
from tests.support.databases import backend
from tests.support.run_helpers import START_DAILY, follow_run, tool_servers_for_runs

CREATE = """mutation($input: CreateModelInput!) { createModel(input: $input) { id } }"""
RESULT = """query($id: ID!) { run(id: $id) { status error startedAt endedAt totalTrades
  usage { llmCalls inputTokens outputTokens } performance { tradingDays } } }"""
REFERENCE_REPEATS = 5
HISTORY_DAYS = 48  # bars before the first trading day, so a 20-bar moving average exists from day one

Trade = tuple[dt.date, str, str, int]  # (day, BUY or SELL, symbol, shares)


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


@dataclass(frozen=True)
class Market:
    tickers: list[str]
    days: list[dt.date]  # history first, then the trading days

    @property
    def trading_days(self) -> list[dt.date]:
        return self.days[HISTORY_DAYS:]


@asynccontextmanager
async def benchmark_market(ticker_count: int, trading_days: int) -> AsyncIterator[Market]:
    """Synthetic daily bars of `ticker_count` tickers and all four tool servers, for one module."""
    market = Market(bm.tickers(ticker_count), bm.weekdays(HISTORY_DAYS + trading_days))
    async with bm.stored_bars(market.tickers, market.days), tool_servers_for_runs():
        yield market


def _seconds(sample_name: str) -> float:
    """A worker metric in seconds, summed over its label sets (a histogram's _sum, a counter's _total)."""
    return sum(sample.value for metric in REGISTRY.collect() for sample in metric.samples if sample.name == sample_name)


# --------------------------------------------------------------------------------------------- the reference


@dataclass
class _Book:
    cash: Decimal
    held: dict[str, int]

    def fill(self, trades: list[Trade], day: dt.date, action: str, symbol: str, shares: int, price: Decimal) -> None:
        signed = shares if action == "BUY" else -shares
        self.cash -= signed * price
        self.held[symbol] = self.held.get(symbol, 0) + signed
        trades.append((day, action, symbol, shares))


def _even_split(cash: Decimal, tickers: int, price: Decimal) -> int:
    return int((cash / tickers / price).to_integral_value(rounding=ROUND_FLOOR))


def reference_trades(
    ai_model: str, market: Market, opens: dict[str, list[Decimal]], closes: dict[str, list[float]], cash: Decimal
) -> list[Trade]:
    """The local model's strategy over the bars (index i of `opens`/`closes` is market.days[i]), no platform.

    Momentum: on each day, for each ticker in order, sell all when the short average of the completed closes
    is below the long one, buy floor(cash at the open / tickers / open) when above and not held. Buy-and-hold:
    the even split on the first day. Orders fill at the day's open (no costs)."""
    book, trades, tickers = _Book(cash, {}), [], market.tickers
    for i in range(HISTORY_DAYS, len(market.days)):
        day, cash_at_open = market.days[i], book.cash
        for ticker in tickers:
            open_ = opens[ticker][i]
            if ai_model == "local/buy-and-hold":
                if i == HISTORY_DAYS:
                    book.fill(trades, day, "BUY", ticker, _even_split(cash_at_open, len(tickers), open_), open_)
                continue
            past = closes[ticker][:i]
            short = sum(past[-SHORT_WINDOW:]) / SHORT_WINDOW
            long = sum(past[-LONG_WINDOW:]) / LONG_WINDOW
            held = book.held.get(ticker, 0)
            if short < long and held:
                book.fill(trades, day, "SELL", ticker, held, open_)
            elif short > long and not held and (shares := _even_split(cash_at_open, len(tickers), open_)):
                book.fill(trades, day, "BUY", ticker, shares, open_)
    return trades


async def _bars(market: Market) -> tuple[dict[str, list[Decimal]], dict[str, list[float]]]:
    rows = await (
        PriceBar.filter(symbol__in=market.tickers, interval=PriceInterval.DAY, source=bm.SOURCE)
        .order_by("symbol", "trade_date")
        .values_list("symbol", "open", "close")
    )
    opens: dict[str, list[Decimal]] = {t: [] for t in market.tickers}
    closes: dict[str, list[float]] = {t: [] for t in market.tickers}
    for symbol, open_, close in rows:
        opens[symbol].append(Decimal(open_))
        closes[symbol].append(float(close))
    return opens, closes


def _timed_reference(
    ai_model: str, market: Market, opens: dict[str, list[Decimal]], closes: dict[str, list[float]], cash: Decimal
) -> tuple[list[Trade], float]:
    """The reference's trades and its fastest of REFERENCE_REPEATS timings (one pass takes milliseconds, so a
    single timing is at the mercy of whatever else the machine runs)."""
    seconds = []
    for _ in range(REFERENCE_REPEATS):
        started = time.perf_counter()
        trades = reference_trades(ai_model, market, opens, closes, cash)
        seconds.append(time.perf_counter() - started)
    return trades, min(seconds)


# ------------------------------------------------------------------------------------------------ the run


@dataclass
class Overhead:
    """One measured run and its reference."""

    ai_model: str
    market: Market
    result: dict
    events: list[dict]
    error: dict | None
    elapsed: float
    cpu: float
    tool_seconds: float
    llm_seconds: float
    statements: Counter[str]
    logs: list[list[dict]]
    run_trades: list[Trade]
    positions: int
    curve: int
    reference: list[Trade]
    reference_seconds: float

    @property
    def days(self) -> int:
        return len(self.market.trading_days)

    def per_day_ms(self, seconds: float) -> float:
        return seconds / self.days * 1000

    @property
    def loop_seconds(self) -> float:
        """The platform without its tool calls and model calls: run loop, database, events, API."""
        return self.elapsed - self.tool_seconds - self.llm_seconds

    @property
    def ratio(self) -> float:
        return self.elapsed / self.reference_seconds

    def report(self) -> str:
        days, tickers = self.days, len(self.market.tickers)
        tool_calls = Counter(m["name"] for day in self.logs for m in day if m["role"] == "tool")
        writes = sum(self.statements[k] for k in ("INSERT", "UPDATE", "DELETE"))
        statements = sum(self.statements.values())
        event_kinds = Counter(e["kind"] for e in self.events)
        usage = self.result["usage"]
        return "\n".join(
            [
                f"[{backend()}] {self.ai_model}: {days} trading days x {tickers} tickers, end to end",
                f"  total {self.elapsed:.2f} s  ->  {self.per_day_ms(self.elapsed):.1f} ms per trading day",
                f"    of which tool calls {self.per_day_ms(self.tool_seconds):.1f} ms/day "
                f"({self.tool_seconds / self.elapsed:.0%}), model calls {self.per_day_ms(self.llm_seconds):.1f} ms/day,"
                f" the rest (run loop, database, events) {self.per_day_ms(self.loop_seconds):.1f} ms/day",
                f"  reference (the same strategy over the same bars in-process, no platform; same {len(self.reference)}"
                f" trades): {self.per_day_ms(self.reference_seconds) * 1000:.1f} us per trading day  ->  "
                f"platform/reference {self.ratio:,.0f}x",
                f"  CPU of this process (API, run loop, tool servers, local model) {self.cpu:.2f} s -> "
                f"{self.per_day_ms(self.cpu):.1f} ms per trading day (the database server's own CPU not included)",
                f"  LLM calls {usage['llmCalls']} ({usage['llmCalls'] / days:.1f}/day), "
                f"tokens in/out {usage['inputTokens']}/{usage['outputTokens']}",
                f"  tool calls {sum(tool_calls.values())} ({sum(tool_calls.values()) / days:.1f}/day): "
                + ", ".join(f"{name} {n}" for name, n in tool_calls.most_common()),
                f"  DB rows written {self.positions + len(self.logs) + self.curve + 1} (run 1, positions "
                f"{self.positions} incl. {self.result['totalTrades']} trades, reasoning logs {len(self.logs)}, "
                f"equity points {self.curve})",
                f"  SQL statements {statements} ({statements / days:.1f}/day; "
                f"writes {writes}, {writes / days:.1f}/day): "
                + ", ".join(f"{kind} {n}" for kind, n in self.statements.most_common()),
                f"  events published {len(self.events)} ({len(self.events) / days:.1f}/day): "
                + ", ".join(f"{kind} {n}" for kind, n in event_kinds.most_common()),
            ]
        )


async def measure_run_overhead(api, ws_url: str, token: str, market: Market, ai_model: str) -> Overhead:
    """Runs `ai_model` over the market's trading days end to end and computes its reference."""
    model_id = (
        await api.data(
            CREATE,
            {"input": {"name": f"Overhead {ai_model}", "allowedTickers": market.tickers, "aiModel": ai_model}},
            token=token,
        )
    )["createModel"]["id"]
    start, end = market.trading_days[0], market.trading_days[-1]
    tools_before, llm_before = _seconds("aibt_tool_wait_seconds_total"), _seconds("aibt_llm_call_seconds_sum")
    with StatementCounter() as statements:
        started, cpu_started = time.perf_counter(), time.process_time()
        run = (
            await api.data(
                START_DAILY,
                {
                    "model": model_id,
                    "input": {"startDate": start.isoformat(), "endDate": end.isoformat(), "maxSteps": 30},
                },
                token=token,
            )
        )["startDailyRun"]
        events, error = await follow_run(ws_url, token, run["id"], after_seq=0, timeout=600)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    tool_seconds = _seconds("aibt_tool_wait_seconds_total") - tools_before
    llm_seconds = _seconds("aibt_llm_call_seconds_sum") - llm_before
    result = (await api.data(RESULT, {"id": run["id"]}, token=token))["run"]

    pk = parse_global_id("Run", run["id"], kind="run")
    logs = await ReasoningLog.filter(run_id=pk).order_by("timestamp").values_list("messages", flat=True)
    trade_rows = await Position.filter(run_id=pk, action__in=["BUY", "SELL"]).order_by("action_id")
    opens, closes = await _bars(market)
    cash = await initial_cash(await Run.get(id=pk))
    reference, reference_seconds = _timed_reference(ai_model, market, opens, closes, cash)
    return Overhead(
        ai_model=ai_model,
        market=market,
        result=result,
        events=events,
        error=error,
        elapsed=elapsed,
        cpu=cpu,
        tool_seconds=tool_seconds,
        llm_seconds=llm_seconds,
        statements=statements.kinds,
        logs=list(logs),
        run_trades=[(p.date, str(p.action), p.symbol, p.amount) for p in trade_rows],
        positions=await Position.filter(run_id=pk).count(),
        curve=await EquityPoint.filter(run_id=pk).count(),
        reference=reference,
        reference_seconds=reference_seconds,
    )


def check_overhead(measured: Overhead) -> None:
    """What every measured run must show: completed over every trading day, gap-free events, one reasoning
    log a day, and the reference's trades."""
    assert measured.error is None, measured.error
    assert measured.result["status"] == "COMPLETED", measured.result["error"]
    assert measured.result["performance"]["tradingDays"] == measured.days
    assert [e["seq"] for e in measured.events] == list(range(1, len(measured.events) + 1))
    assert len(measured.logs) == measured.days
    assert measured.curve == measured.days
    # A day's orders of one turn run concurrently, so their order within the day is not the reference's.
    run, reference = sorted(measured.run_trades), sorted(measured.reference)
    assert run == reference, [t for t in run if t not in reference][:5] + [t for t in reference if t not in run][:5]
    assert measured.tool_seconds > 0 and measured.llm_seconds > 0 and measured.reference_seconds > 0
