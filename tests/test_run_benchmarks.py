"""Run.benchmarks and Run.relative over GraphQL on real 2025 prices, against an independent pandas computation
from the price file itself; and the index a run is measured against: QQQ by default, another, or none."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pandas as pd
import pytest
import pytest_asyncio

from db_models.price_import import import_files
from tests.conftest import Account, signed_up, unique_email
from tests.support.price_state import restored_market_data
from tests.support.run_helpers import START_DAILY, follow_run, tool_servers_for_runs

approx = pytest.approx
# Real daily bars of AAPL, MSFT, NVDA, QQQ (and two more), January to June 2025 (tests/data/prices/README.md).
DAILY = Path(__file__).resolve().parent / "data" / "prices" / "nasdaq100-daily-2025-01-02_2025-06-27.jsonl"
START, END = dt.date(2025, 3, 3), dt.date(2025, 4, 30)  # the spring sell-off and the rebound
TICKERS = ["AAPL", "MSFT"]
RUN = """query($id: ID!) { run(id: $id) { status benchmarkSymbol equityCurve { date timestamp value }
  benchmarks { kind symbols label equityCurve { date timestamp value cash }
               performance { initialValue finalValue totalReturn volatility sharpeRatio maxDrawdown totalTrades } }
  relative { benchmarkKind benchmarkLabel excessReturn beta alpha trackingError informationRatio correlation } } }"""


def file_prices() -> pd.DataFrame:
    """(date x (symbol, open|close)) read straight from the price file."""
    frames = {}
    for line in DAILY.read_text().splitlines():
        record = json.loads(line)
        bars = record["Time Series (Daily)"]
        frames[record["Meta Data"]["2. Symbol"]] = pd.DataFrame(
            {
                "open": {d: float(b["1. buy price"]) for d, b in bars.items()},
                "close": {d: float(b["4. sell price"]) for d, b in bars.items()},
            }
        )
    table = pd.concat(frames, axis=1).sort_index()
    table.index = pd.to_datetime(table.index).date
    return table[(table.index >= START) & (table.index <= END)]


def held(symbols: list[str], cash: float) -> pd.Series:
    table = file_prices()
    return sum(table[(s, "close")] * (cash / len(symbols) / table[(s, "open")].iloc[0]) for s in symbols)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def market(server_url):
    async with restored_market_data():
        await import_files([DAILY])
        async with tool_servers_for_runs() as urls:
            yield urls


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def account(api) -> Account:
    return await signed_up(api, "benchmarks")


async def start_run(api, account: Account, tickers: list[str], **extra) -> dict:
    model = await api.data(
        "mutation($i: CreateModelInput!) { createModel(input: $i) { id } }",
        {"i": {"name": f"Real {unique_email()}", "allowedTickers": tickers, "aiModel": "local/buy-and-hold"}},
        token=account.token,
    )
    variables = {"startDate": START.isoformat(), "endDate": END.isoformat(), **extra}
    return (
        await api.data(START_DAILY, {"model": model["createModel"]["id"], "input": variables}, token=account.token)
    )["startDailyRun"]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def finished(api, server_url, account, market) -> dict:
    run = await start_run(api, account, TICKERS)
    events, error = await follow_run(server_url.replace("http://", "ws://") + "/graphql", account.token, run["id"])
    assert error is None and events[-1]["kind"] == "COMPLETED", events[-1:]
    return (await api.data(RUN, {"id": run["id"]}, token=account.token))["run"]


def test_a_run_is_measured_against_qqq_by_default_when_qqq_covers_it(finished):
    assert finished["benchmarkSymbol"] == "QQQ"
    assert [(b["kind"], b["symbols"]) for b in finished["benchmarks"]] == [
        ("BUY_AND_HOLD", TICKERS),
        ("INDEX", ["QQQ"]),
    ]
    assert [r["benchmarkLabel"] for r in finished["relative"]] == [b["label"] for b in finished["benchmarks"]]


def test_each_baseline_curve_has_the_runs_timestamps_and_matches_the_price_file(finished):
    stamps = [(p["date"], p["timestamp"]) for p in finished["equityCurve"]]
    assert len(stamps) == len(file_prices()) > 35
    for benchmark, expected in zip(finished["benchmarks"], (held(TICKERS, 10_000), held(["QQQ"], 10_000)), strict=True):
        assert [(p["date"], p["timestamp"]) for p in benchmark["equityCurve"]] == stamps
        assert [p["value"] for p in benchmark["equityCurve"]] == approx(list(expected), abs=1e-5)
        series = pd.concat([pd.Series([10_000.0]), expected.reset_index(drop=True)], ignore_index=True)
        returns = series.pct_change().dropna()
        figures = benchmark["performance"]
        assert figures["initialValue"] == 10_000 and figures["finalValue"] == approx(expected.iloc[-1], abs=1e-5)
        assert figures["totalReturn"] == approx(expected.iloc[-1] / 10_000 - 1, rel=1e-7)
        assert figures["volatility"] == approx(returns.std() * math.sqrt(252), rel=1e-6)
        assert figures["sharpeRatio"] == approx(returns.mean() / returns.std() * math.sqrt(252), rel=1e-6)
        assert figures["maxDrawdown"] == approx((1 - series / series.cummax()).max(), rel=1e-6)
        assert figures["totalTrades"] == len(benchmark["symbols"])
    assert finished["benchmarks"][1]["performance"]["maxDrawdown"] > 0.1  # QQQ fell hard in April 2025


def test_the_relative_figures_match_pandas_on_the_runs_and_each_baselines_returns(finished):
    run = pd.Series([10_000.0] + [p["value"] for p in finished["equityCurve"]]).pct_change().dropna()
    for relative, benchmark in zip(finished["relative"], finished["benchmarks"], strict=True):
        bench = pd.Series([10_000.0] + [p["value"] for p in benchmark["equityCurve"]]).pct_change().dropna()
        run.index = bench.index
        active = run - bench
        beta = run.cov(bench) / bench.var()
        run_total = finished["equityCurve"][-1]["value"] / 10_000 - 1
        assert relative["benchmarkKind"] == benchmark["kind"]
        assert relative["excessReturn"] == approx(run_total - benchmark["performance"]["totalReturn"], abs=1e-12)
        assert relative["beta"] == approx(beta, rel=1e-6)
        assert relative["alpha"] == approx((run.mean() - beta * bench.mean()) * 252, rel=1e-5, abs=1e-9)
        assert relative["trackingError"] == approx(active.std() * math.sqrt(252), rel=1e-6)
        assert relative["informationRatio"] == approx(active.mean() * 252 / (active.std() * math.sqrt(252)), rel=1e-5)
        assert relative["correlation"] == approx(run.corr(bench), rel=1e-6)
    # Whole shares of two mega caps track their own fractional buy-and-hold almost exactly, QQQ less so.
    own, index = finished["relative"]
    assert own["correlation"] > 0.999 and 0.95 < own["beta"] < 1.05
    assert index["correlation"] > 0.8 and index["trackingError"] > own["trackingError"]


async def finish(api, ws_url: str, account: Account, run_id: str) -> dict:
    events, error = await follow_run(ws_url, account.token, run_id)
    assert error is None and events[-1]["kind"] == "COMPLETED", events[-1:]
    return (await api.data(RUN, {"id": run_id}, token=account.token))["run"]


async def test_a_run_can_name_another_index_or_none(api, ws_url, account, market):
    nvda = await finish(api, ws_url, account, (await start_run(api, account, ["AAPL"], benchmarkSymbol="nvda"))["id"])
    assert nvda["benchmarkSymbol"] == "NVDA"
    assert [b["symbols"] for b in nvda["benchmarks"]] == [["AAPL"], ["NVDA"]]
    assert [p["value"] for p in nvda["benchmarks"][1]["equityCurve"]] == approx(list(held(["NVDA"], 10_000)), abs=1e-5)
    none = await finish(api, ws_url, account, (await start_run(api, account, ["MSFT"], benchmarkSymbol=None))["id"])
    assert none["benchmarkSymbol"] is None and [b["kind"] for b in none["benchmarks"]] == ["BUY_AND_HOLD"]


@pytest.mark.parametrize(
    ("symbol", "says"),
    [("ZZZZ", "has no daily prices on 2025-03-03 and 2025-04-30"), ("not a ticker", "is not a ticker symbol")],
)
async def test_an_index_without_prices_over_the_run_is_refused(api, account, market, symbol, says):
    model = await api.data(
        "mutation($i: CreateModelInput!) { createModel(input: $i) { id } }",
        {"i": {"name": f"Refused {unique_email()}", "allowedTickers": ["AAPL"], "aiModel": "local/buy-and-hold"}},
        token=account.token,
    )
    variables = {"startDate": START.isoformat(), "endDate": END.isoformat(), "benchmarkSymbol": symbol}
    error = await api.error(START_DAILY, {"model": model["createModel"]["id"], "input": variables}, token=account.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == "benchmarkSymbol"
    assert says in error["message"]


async def test_qqq_is_no_default_when_its_prices_do_not_reach_the_runs_last_day(api, ws_url, account, market):
    model = await api.data(
        "mutation($i: CreateModelInput!) { createModel(input: $i) { id } }",
        {"i": {"name": f"Late {unique_email()}", "allowedTickers": ["AAPL"], "aiModel": "local/buy-and-hold"}},
        token=account.token,
    )
    # The second daily file goes on to October without QQQ: a run into July has no QQQ close on its last day.
    later = Path(DAILY.parent, "nasdaq100-daily-2025-06-10_2025-10-30.jsonl")
    await import_files([later])
    variables = {"startDate": "2025-06-02", "endDate": "2025-07-31"}
    run = await api.data(START_DAILY, {"model": model["createModel"]["id"], "input": variables}, token=account.token)
    late = await finish(api, ws_url, account, run["startDailyRun"]["id"])
    assert late["benchmarkSymbol"] is None and [b["symbols"] for b in late["benchmarks"]] == [["AAPL"]]
