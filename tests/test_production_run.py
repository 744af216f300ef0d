"""A daily momentum run in the production topology: API, worker and tool servers in their own processes,
PostgreSQL and Redis, followed over a real websocket, checked against an independent computation."""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_FLOOR, Decimal

import httpx
import numpy as np
import pandas as pd
import pytest
import pytest_asyncio

from db_models.market import PriceBar, PriceInterval
from db_models.price_seed import seed_shipped_prices
from tests.conftest import PASSWORD, SIGNUP, unique_email
from tests.support.databases import backend
from tests.support.graphql_client import GraphQLClient
from tests.support.price_state import restored_market_data
from tests.support.run_helpers import START_DAILY, follow_run
from tests.support.topology import production_topology

pytestmark = pytest.mark.skipif(
    backend() != "postgres",
    reason="The production topology (several processes writing at once) runs in the suite's PostgreSQL pass.",
)

TICKERS = ["AAPL", "MSFT"]
START, END = dt.date(2010, 3, 1), dt.date(2010, 3, 31)
RESULT = """query($id: ID!) { run(id: $id) { status error totalTrades finalPortfolioValue
  positions(first: 100) { edges { node { date action symbol amount price } } }
  equityCurve { date value } logs(first: 50) { totalCount }
  performance { totalReturn maxDrawdown sharpeRatio volatility tradingDays totalTrades } } }"""


@pytest_asyncio.fixture
async def shipped_prices(server_url):
    async with restored_market_data():
        await seed_shipped_prices()
        yield


async def bars(symbol: str) -> pd.DataFrame:
    rows = (
        await PriceBar.filter(symbol=symbol, interval=PriceInterval.DAY, close__isnull=False, trade_date__lte=END)
        .order_by("trade_date")
        .values("trade_date", "open", "close")
    )
    return pd.DataFrame(rows).set_index("trade_date")


async def expected_momentum() -> tuple[list[tuple], list[float]]:
    """The strategy, computed directly from the bars: (trades, closing values)."""
    frames = {t: await bars(t) for t in TICKERS}
    days = sorted({d for f in frames.values() for d in f.index if START <= d <= END})
    cash, held, trades, curve = Decimal("10000.00"), dict.fromkeys(TICKERS, 0), [], []
    for day in days:
        budget = cash / len(TICKERS)
        for ticker, frame in frames.items():
            history = frame[frame.index < day]["close"].astype(float)
            if len(history) < 21 or day not in frame.index:
                continue
            short, long = history.iloc[-5:].mean(), history.iloc[-20:].mean()
            price = Decimal(frame.loc[day, "open"])
            if short < long and held[ticker]:
                trades.append((day.isoformat(), "SELL", ticker, held[ticker], float(price)))
                cash += held[ticker] * price
                held[ticker] = 0
            elif short > long and not held[ticker]:
                shares = int((budget / price).to_integral_value(rounding=ROUND_FLOOR))
                if shares:
                    trades.append((day.isoformat(), "BUY", ticker, shares, float(price)))
                    cash -= shares * price
                    held[ticker] = shares
        curve.append(float(cash + sum(held[t] * Decimal(frames[t].loc[day, "close"]) for t in TICKERS)))
    return trades, curve


async def test_a_momentum_run_on_a_worker_process_matches_an_independent_computation(
    settings, tmp_path, shipped_prices
):
    async with production_topology(settings, tmp_path) as topology:
        async with httpx.AsyncClient(base_url=topology.api_url, timeout=30) as http:
            assert (await http.get("/readyz")).json()["checks"] == {"database": "ok", "redis": "ok"}
            api = GraphQLClient(http)
            token = (await api.data(SIGNUP, {"email": unique_email("prod"), "password": PASSWORD}))["signup"]["token"]
            model = (
                await api.data(
                    "mutation($i: CreateModelInput!) { createModel(input: $i) { id } }",
                    {"i": {"name": "Momentum", "allowedTickers": TICKERS, "aiModel": "local/momentum"}},
                    token=token,
                )
            )["createModel"]["id"]
            response = await http.post(
                "/graphql",
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": "start-momentum-run-1"},
                json={
                    "query": START_DAILY,
                    "variables": {
                        "model": model,
                        "input": {"startDate": START.isoformat(), "endDate": END.isoformat()},
                    },
                },
            )
            run = response.json()["data"]["startDailyRun"]
            events, error = await follow_run(topology.ws_url, token, run["id"], after_seq=0, timeout=120)
            result = (await api.data(RESULT, {"id": run["id"]}, token=token))["run"]
        worker_log = topology.log("worker")
        assert "Traceback" not in worker_log, worker_log
        # The worker's log lines about the run name the request that started it.
        assert any(
            "request_id=start-momentum-run-1" in line and "finished: COMPLETED" in line
            for line in worker_log.splitlines()
        ), worker_log[-3000:]

    assert error is None
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["kind"] == "QUEUED" and events[1]["kind"] == "STARTED" and events[-1]["kind"] == "COMPLETED"
    assert result["status"] == "COMPLETED", result["error"]

    trades, curve = await expected_momentum()
    assert trades, "the month should hold at least one crossover"
    actual = sorted(
        (p["node"]["date"], p["node"]["action"], p["node"]["symbol"], p["node"]["amount"], p["node"]["price"])
        for p in result["positions"]["edges"]
        if p["node"]["action"] != "NO_TRADE"
    )
    assert actual == sorted(trades)
    assert [p["value"] for p in result["equityCurve"]] == pytest.approx(curve, abs=1e-6)
    assert result["logs"]["totalCount"] == len(curve)
    assert [e["kind"] for e in events].count("TRADE") == len(trades)

    values = np.array([10000.0, *curve])
    returns = values[1:] / values[:-1] - 1
    performance = result["performance"]
    assert performance["totalReturn"] == pytest.approx(curve[-1] / 10000 - 1)
    assert performance["maxDrawdown"] == pytest.approx(float(np.max(1 - values / np.maximum.accumulate(values))))
    assert performance["volatility"] == pytest.approx(float(np.std(returns, ddof=1) * math.sqrt(252)))
    assert performance["sharpeRatio"] == pytest.approx(float(returns.mean() / np.std(returns, ddof=1) * math.sqrt(252)))
    assert performance["tradingDays"] == len(curve) and performance["totalTrades"] == len(trades)
    assert result["finalPortfolioValue"] == pytest.approx(curve[-1])
