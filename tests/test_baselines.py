"""A run's baselines from stored prices: the curves and figures against an independent pandas computation,
live while the run runs (never past its latest close), stored when it ends, and the index a run is given."""

from __future__ import annotations

import math
import uuid
from decimal import Decimal

import pandas as pd
import pytest
import pytest_asyncio

from db_models.accounts import User
from db_models.baselines import run_baselines, store_run_baselines
from db_models.corporate_actions import Action, store_actions
from db_models.market import CorporateAction, PriceBar, PriceInterval
from db_models.runs import BenchmarkCurve, BenchmarkKind, EquityPoint, IntradaySession, Run, RunStatus, TradingMode
from db_models.trading import TradingModel
from tests.support import price_fixtures as px

approx = pytest.approx
DAYS = px.trading_days()[:8]
# Two symbols of this module: A rises and falls, B splits 2-for-1 on DAYS[4] and pays 0.50 a share on DAYS[6].
A, B = "BLNA", "BLNB"
A_OPEN = [50, 52, 51, 55, 53, 56, 58, 57]
A_CLOSE = [51, 53, 50, 54, 55, 57, 56, 59]
B_OPEN = [20, 21, 22, 21, 11.5, 12, 12.5, 12]
B_CLOSE = [21, 21.5, 21, 22, 12, 12.25, 12, 12.5]
SPLIT_DAY, DIVIDEND_DAY = DAYS[4], DAYS[6]


def daily_bars(symbol: str, opens: list, closes: list) -> list[PriceBar]:
    return [
        PriceBar(
            symbol=symbol,
            interval=PriceInterval.DAY,
            timestamp=px.session_open(day),
            trade_date=day,
            open=Decimal(str(o)),
            close=Decimal(str(c)),
            source="test",
        )
        for day, o, c in zip(DAYS, opens, closes, strict=True)
    ]


def hourly_bars(symbol: str) -> list[PriceBar]:
    return [
        PriceBar(
            symbol=symbol,
            interval=PriceInterval.HOUR,
            timestamp=px.hour_start(hour),
            trade_date=px.HOURLY_DATE,
            open=Decimal(200 + 3 * (hour % 3)),
            close=Decimal(201 + 2 * (hour % 4)),
            source="test",
        )
        for hour in px.HOURS
    ]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def prices(server_url):
    await PriceBar.bulk_create(daily_bars(A, A_OPEN, A_CLOSE) + daily_bars(B, B_OPEN, B_CLOSE) + hourly_bars(A))
    await store_actions(
        [Action.split(B, SPLIT_DAY, Decimal("2"), "test"), Action.dividend(B, DIVIDEND_DAY, Decimal("0.5"), "test")]
    )
    try:
        yield
    finally:
        await PriceBar.filter(symbol__in=[A, B], source="test").delete()
        await CorporateAction.filter(symbol__in=[A, B]).delete()


async def stored_run(values: list[float], *, tickers=(A, B), status=RunStatus.RUNNING, **fields) -> Run:
    """A run with an equity point at the close of each of the first len(values) days."""
    user = await User.create(email=f"baselines-{uuid.uuid4().hex[:10]}@example.com", password_hash="x")
    model = await TradingModel.create(
        owner=user,
        name="Baselines",
        signature="baselines",
        allowed_tickers=list(tickers),
        initial_cash=Decimal("10000"),
        ai_model="local/momentum",
    )
    run = await Run.create(
        model=model,
        run_number=1,
        mode=fields.pop("mode", TradingMode.DAILY),
        status=status,
        strategy_snapshot={"initial_cash": "10000.00", "allowed_tickers": list(tickers)},
        **fields,
    )
    for day, value in zip(DAYS, values, strict=False):
        await EquityPoint.create(
            run=run, date=day, timestamp=px.session_open(day), value=Decimal(str(value)), cash=Decimal(0)
        )
    return run


def pandas_hold(days: int, cash: float = 10_000.0) -> pd.DataFrame:
    """The equal-weight buy-and-hold of A and B computed directly: shares from the first open, B's split
    doubling its shares from the ex-date, its dividend paid in cash on the shares held that morning."""
    frame = pd.DataFrame({"a_open": A_OPEN, "a_close": A_CLOSE, "b_open": B_OPEN, "b_close": B_CLOSE}, index=DAYS).iloc[
        :days
    ]
    a_shares = cash / 2 / frame["a_open"].iloc[0]
    b_shares = pd.Series(cash / 2 / frame["b_open"].iloc[0], index=frame.index)
    b_shares[frame.index >= SPLIT_DAY] *= 2
    dividends = pd.Series(0.0, index=frame.index)
    dividends[frame.index >= DIVIDEND_DAY] = b_shares[DIVIDEND_DAY] * 0.5 if days > 6 else 0.0
    value = a_shares * frame["a_close"] + b_shares * frame["b_close"] + dividends
    return pd.DataFrame({"value": value, "cash": dividends})


def pandas_figures(values: pd.Series, v0: float = 10_000.0) -> dict:
    series = pd.concat([pd.Series([v0]), values.reset_index(drop=True)], ignore_index=True)
    returns = series.pct_change().dropna()
    return {
        "total_return": series.iloc[-1] / v0 - 1,
        "volatility": returns.std() * math.sqrt(252),
        "sharpe_ratio": returns.mean() / returns.std() * math.sqrt(252),
        "max_drawdown": (1 - series / series.cummax()).max(),
    }


RUN_VALUES = [10_050, 10_120, 9_990, 10_300, 10_280, 10_410, 10_380, 10_600]


async def test_the_buy_and_hold_baseline_matches_pandas_with_the_split_and_the_dividend_applied(prices):
    run = await stored_run(RUN_VALUES)
    [hold] = await run_baselines(run)
    expected = pandas_hold(8)
    assert hold.baseline.spec.kind is BenchmarkKind.BUY_AND_HOLD and hold.baseline.spec.symbols == (A, B)
    assert [p.timestamp for p in hold.baseline.points] == [px.session_open(d) for d in DAYS]
    assert [float(p.value) for p in hold.baseline.points] == approx(list(expected["value"]), abs=1e-5)
    assert [float(p.cash) for p in hold.baseline.points] == approx(list(expected["cash"]), abs=1e-5)
    figures = hold.baseline.performance
    for name, value in pandas_figures(expected["value"]).items():
        assert getattr(figures, name) == approx(value, rel=1e-6), name
    assert figures.total_trades == 2 and figures.win_rate is None and figures.trading_days == 8
    assert figures.total_dividends == approx(expected["cash"].iloc[-1], abs=1e-6) and figures.total_fees == 0.0


async def test_the_relative_figures_match_pandas_on_the_aligned_returns(prices):
    run = await stored_run(RUN_VALUES)
    [hold] = await run_baselines(run)
    frame = pd.DataFrame({"run": [10_000, *RUN_VALUES], "bench": [10_000, *pandas_hold(8)["value"]]})
    r, b = frame["run"].pct_change().dropna(), frame["bench"].pct_change().dropna()
    beta = r.cov(b) / b.var()
    figures = hold.relative
    assert figures.excess_return == approx(RUN_VALUES[-1] / 10_000 - frame["bench"].iloc[-1] / 10_000, rel=1e-6)
    assert figures.beta == approx(beta, rel=1e-6)
    assert figures.alpha == approx((r.mean() - beta * b.mean()) * 252, rel=1e-6)
    assert figures.tracking_error == approx((r - b).std() * math.sqrt(252), rel=1e-6)
    assert figures.information_ratio == approx((r - b).mean() * 252 / ((r - b).std() * math.sqrt(252)), rel=1e-6)
    assert figures.correlation == approx(r.corr(b), rel=1e-6)


async def test_a_live_run_gets_baselines_only_up_to_its_latest_close(prices):
    run = await stored_run(RUN_VALUES[:3])  # prices exist for eight days; the run has valued three
    [hold] = await run_baselines(run)
    assert [p.date for p in hold.baseline.points] == DAYS[:3]
    assert [float(p.value) for p in hold.baseline.points] == approx(list(pandas_hold(3)["value"]), abs=1e-5)
    # The split on DAYS[4] is in the future of this run: it is in no figure yet.
    assert hold.baseline.performance.total_return == approx(pandas_hold(3)["value"].iloc[-1] / 10_000 - 1)


async def test_the_index_is_held_alone_and_the_stored_curves_equal_the_live_ones(prices):
    run = await stored_run(RUN_VALUES, benchmark_symbol=A)
    live = await run_baselines(run)
    assert [item.baseline.spec.kind for item in live] == [BenchmarkKind.BUY_AND_HOLD, BenchmarkKind.INDEX]
    index = live[1].baseline
    assert index.spec.label == f"{A} (index)"
    assert [float(p.value) for p in index.points] == approx([10_000 / 50 * c for c in A_CLOSE], abs=1e-6)

    await Run.filter(id=run.id).update(status=RunStatus.COMPLETED)
    await store_run_baselines(run)
    assert await BenchmarkCurve.filter(run_id=run.id).count() == 2
    await PriceBar.filter(symbol=A, interval=PriceInterval.DAY, trade_date=DAYS[-1]).update(close=Decimal("1"))
    try:
        stored = await run_baselines(await Run.get(id=run.id))  # read back from the stored curves, not the prices
    finally:
        await PriceBar.filter(symbol=A, interval=PriceInterval.DAY, trade_date=DAYS[-1]).update(close=A_CLOSE[-1])
    assert stored == live


async def test_a_stored_curve_of_an_older_length_is_not_used_for_a_run_that_went_on(prices):
    run = await stored_run(RUN_VALUES[:4])
    await store_run_baselines(run)  # e.g. stored when a first attempt ended, then the run resumed
    await EquityPoint.create(
        run=run, date=DAYS[4], timestamp=px.session_open(DAYS[4]), value=Decimal("10280"), cash=Decimal(0)
    )
    [hold] = await run_baselines(run)
    assert len(hold.baseline.points) == 5


async def test_an_intraday_run_holds_its_symbol_from_the_open_of_its_first_valued_bar(prices):
    run = await stored_run(
        [],
        tickers=(A, B),
        mode=TradingMode.INTRADAY,
        symbol=A,
        date=px.HOURLY_DATE,
        session=IntradaySession.REGULAR,
        bar_interval=PriceInterval.HOUR,
    )
    hours = list(px.HOURS)[1:]  # orders fill from the second bar: the curve starts at its close
    for hour, value in zip(hours, (10_010, 9_990, 10_030, 10_000, 10_050), strict=True):
        await EquityPoint.create(
            run=run, date=px.HOURLY_DATE, timestamp=px.hour_start(hour), value=Decimal(value), cash=Decimal(0)
        )
    hold, *others = await run_baselines(run)
    assert others == [] and hold.baseline.spec.symbols == (A,)
    shares = 10_000 / (200 + 3 * (hours[0] % 3))
    assert [float(p.value) for p in hold.baseline.points] == approx([shares * (201 + 2 * (h % 4)) for h in hours])
    assert hold.baseline.periods_per_year == 252 * 6
    assert hold.baseline.performance.trading_days == 1
    r = pd.Series([10_000, 10_010, 9_990, 10_030, 10_000, 10_050]).pct_change().dropna().reset_index(drop=True)
    b = pd.Series([10_000] + [shares * (201 + 2 * (h % 4)) for h in hours]).pct_change().dropna().reset_index(drop=True)
    assert hold.relative.tracking_error == approx((r - b).std() * math.sqrt(252 * 6), rel=1e-6)
    assert hold.relative.beta == approx(r.cov(b) / b.var(), rel=1e-6)


async def test_a_run_without_closes_has_empty_baselines_and_figures_from_its_cash(prices):
    run = await stored_run([], status=RunStatus.QUEUED, benchmark_symbol=B)
    items = await run_baselines(run)
    assert [len(item.baseline.points) for item in items] == [0, 0]
    assert all(item.baseline.performance.total_return == 0.0 for item in items)
    assert all(item.relative.excess_return == 0.0 and item.relative.beta is None for item in items)
