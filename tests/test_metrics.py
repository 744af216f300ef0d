"""Performance figures as docs/metrics.md defines them: hand-computed curves, win rates, a real price series."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from db_models.accounts import User
from db_models.ledger import apply_trade, record_close, record_no_trade
from db_models.market import PriceInterval
from db_models.metrics import (
    PerformanceFigures,
    TradeRecord,
    compute_performance,
    periods_per_year,
    run_performance,
    session_bars,
    win_rate,
)
from db_models.runs import ActionType, IntradaySession, Run, TradingMode
from db_models.trading import TradingModel

# Real daily bars, January to June 2025 (tests/data/prices/README.md).
DAILY_PRICES = Path(__file__).resolve().parent / "data" / "prices" / "nasdaq100-daily-2025-01-02_2025-06-27.jsonl"
P = 252
approx = pytest.approx


def days(*values: float, start: dt.date = dt.date(2025, 1, 2)) -> list[tuple[dt.date, float]]:
    return [(start + dt.timedelta(days=i), v) for i, v in enumerate(values)]


def buy(symbol: str, amount: int, price: str) -> TradeRecord:
    return TradeRecord("BUY", symbol, amount, Decimal(price))


def sell(symbol: str, amount: int, price: str) -> TradeRecord:
    return TradeRecord("SELL", symbol, amount, Decimal(price))


def test_periods_per_year_are_252_a_year_for_daily_runs_and_252_sessions_of_bars_for_intraday():
    assert periods_per_year("DAILY") == 252
    assert periods_per_year(TradingMode.DAILY) == 252
    assert periods_per_year("INTRADAY", 390) == 252 * 390
    assert periods_per_year(TradingMode.INTRADAY, 6) == 1512
    for bad in (None, 0, -1, True):
        with pytest.raises(ValueError):
            periods_per_year("INTRADAY", bad)
    with pytest.raises(ValueError):
        periods_per_year("WEEKLY")


def test_sessions_hold_their_whole_bars():
    assert session_bars("REGULAR", "MINUTE") == 390 and session_bars("REGULAR", "HOUR") == 6
    assert session_bars("PRE", "MINUTE") == 330 and session_bars("PRE", "HOUR") == 5
    assert session_bars("AFTER", "HOUR") == 4


def test_a_flat_curve_has_no_return_no_risk_and_no_sharpe():
    figures = compute_performance(Decimal("10000.00"), days(10000, 10000, 10000, 10000), [], P)
    assert figures == PerformanceFigures(
        initial_value=10000.0,
        final_value=10000.0,
        total_return=0.0,
        annualized_return=0.0,
        volatility=0.0,
        sharpe_ratio=None,
        sortino_ratio=None,
        max_drawdown=0.0,
        win_rate=None,
        total_trades=0,
        trading_days=4,
    )


def test_a_curve_of_equal_returns_has_zero_volatility_and_no_sharpe():
    figures = compute_performance(100, days(101, 102.01, 103.0301, 104.060401), [], P)
    assert figures.volatility == 0.0
    assert figures.sharpe_ratio is None and figures.sortino_ratio is None
    assert figures.total_return == approx(1.01**4 - 1)
    assert figures.annualized_return == approx(1.01**252 - 1)


def test_a_monotone_rise_matches_the_hand_computation():
    # V = 100, 110, 132: r = 0.10, 0.20; mean 0.15; std(ddof=1) = sqrt(0.05² + 0.05²) = sqrt(0.005)
    figures = compute_performance(100, days(110, 132), [], P)
    assert figures.total_return == approx(0.32)
    assert figures.annualized_return == approx(1.32**126 - 1)
    assert figures.volatility == approx(math.sqrt(0.005) * math.sqrt(252))
    assert figures.sharpe_ratio == approx(0.15 / math.sqrt(0.005) * math.sqrt(252))
    assert figures.sortino_ratio is None  # no negative return
    assert figures.max_drawdown == 0.0
    assert (figures.initial_value, figures.final_value, figures.trading_days) == (100.0, 132.0, 2)


def test_a_crash_matches_the_hand_computation():
    # V = 100, 120, 60, 90: r = 0.2, -0.5, 0.5; mean = 1/15; deviations 4/30, -17/30, 13/30
    # std(ddof=1) = sqrt((16 + 289 + 169) / 900 / 2) = sqrt(237) / 30
    # downside = sqrt(mean(0, 0.25, 0)) = 0.5 / sqrt(3)
    figures = compute_performance(100, days(120, 60, 90), [], P)
    assert figures.total_return == approx(-0.1)
    assert figures.annualized_return == approx(0.9**84 - 1)
    assert figures.volatility == approx(math.sqrt(237) / 30 * math.sqrt(252))
    assert figures.sharpe_ratio == approx(2 * math.sqrt(252 / 237))
    assert figures.sortino_ratio == approx((1 / 15) * 252 / (0.5 / math.sqrt(3) * math.sqrt(252)))
    assert figures.sortino_ratio == approx(2 * math.sqrt(756) / 15)
    assert figures.max_drawdown == approx(0.5)  # 120 -> 60


def test_the_drawdown_counts_from_the_initial_cash():
    figures = compute_performance(100, days(90, 95), [], P)
    assert figures.max_drawdown == approx(0.10)  # V1 alone never fell; V0 = 100 -> 90 did


def test_the_deepest_drawdown_wins_over_a_later_recovery():
    figures = compute_performance(100, days(110, 99, 130, 104, 140), [], P)
    assert figures.max_drawdown == approx(0.2)  # 130 -> 104 is deeper than 110 -> 99


def test_a_single_day_has_a_return_but_no_dispersion():
    figures = compute_performance(100, days(105), [], P)
    assert figures.total_return == approx(0.05)
    assert figures.annualized_return == approx(1.05**252 - 1)
    assert figures.volatility is None and figures.sharpe_ratio is None and figures.sortino_ratio is None
    assert figures.trading_days == 1 and figures.max_drawdown == 0.0


def test_a_single_losing_day_has_a_sortino_but_no_sharpe():
    figures = compute_performance(100, days(95), [], P)
    assert figures.sharpe_ratio is None and figures.volatility is None
    assert figures.sortino_ratio == approx(-math.sqrt(252))  # -0.05 × 252 / (0.05 × sqrt(252))
    assert figures.max_drawdown == approx(0.05)


def test_an_empty_curve_reports_the_initial_cash_and_nothing_else():
    figures = compute_performance(Decimal("5000"), [], [], P)
    assert (figures.final_value, figures.total_return, figures.max_drawdown) == (5000.0, 0.0, 0.0)
    assert figures.trading_days == 0
    assert figures.annualized_return is None and figures.volatility is None and figures.sharpe_ratio is None


def test_a_non_positive_initial_value_is_an_error():
    with pytest.raises(ValueError):
        compute_performance(0, days(1), [], P)


def test_intraday_figures_annualise_with_252_sessions_of_bars():
    bars = 390
    periods = periods_per_year("INTRADAY", bars)
    session = dt.date(2025, 10, 1)
    curve = [(session, v) for v in (100.5, 100.2, 100.9, 100.4)]
    figures = compute_performance(100, curve, [], periods)
    returns = np.array([100.5 / 100, 100.2 / 100.5, 100.9 / 100.2, 100.4 / 100.9]) - 1
    std = returns.std(ddof=1)
    assert figures.trading_days == 1  # four bars, one date
    assert figures.annualized_return == approx((100.4 / 100) ** (252 * 390 / 4) - 1)
    assert figures.volatility == approx(std * math.sqrt(98280))
    assert figures.sharpe_ratio == approx(returns.mean() / std * math.sqrt(98280))
    downside = math.sqrt(np.mean(np.minimum(returns, 0) ** 2))
    assert figures.sortino_ratio == approx(returns.mean() * 98280 / (downside * math.sqrt(98280)))
    daily = compute_performance(100, days(100.5, 100.2, 100.9, 100.4), [], P)
    assert figures.volatility == approx(daily.volatility * math.sqrt(390))
    assert figures.sharpe_ratio == approx(daily.sharpe_ratio * math.sqrt(390))


def test_an_annualised_return_too_large_for_a_float_is_none():
    figures = compute_performance(100, [(dt.date(2025, 10, 1), 200)], [], periods_per_year("INTRADAY", 390))
    assert figures.annualized_return is None  # 2 ** 98280
    assert figures.total_return == 1.0


def test_there_is_no_win_rate_before_the_first_sell():
    assert win_rate([]) is None
    assert win_rate([buy("AAPL", 10, "100"), TradeRecord("NO_TRADE", None, None, None)]) is None


def test_a_sell_wins_when_its_price_beats_the_average_cost_of_the_position():
    trades = [
        buy("AAPL", 10, "100"),
        buy("AAPL", 10, "110"),  # average cost 105
        sell("AAPL", 5, "106"),  # win
        sell("AAPL", 5, "104"),
    ]  # loss
    assert win_rate(trades) == 0.5


def test_a_sell_at_exactly_the_average_cost_is_not_a_win():
    assert win_rate([buy("AAPL", 1, "10.1"), buy("AAPL", 1, "10.3"), sell("AAPL", 1, "10.2")]) == 0.0
    assert win_rate([buy("AAPL", 1, "0.1"), buy("AAPL", 2, "0.2"), sell("AAPL", 3, "0.166666666666666667")]) == 1.0


def test_sells_reduce_the_cost_basis_proportionally():
    trades = [
        buy("AAPL", 10, "100"),
        sell("AAPL", 5, "120"),  # win; 5 shares left at an average cost of 100
        buy("AAPL", 5, "130"),  # average (5 × 100 + 5 × 130) / 10 = 115
        sell("AAPL", 10, "114"),  # loss against 115 (a win against the last buy's 100 alone)
        buy("AAPL", 2, "50"),  # a fresh position after selling out: average 50
        sell("AAPL", 1, "60"),
    ]  # win
    assert win_rate(trades) == approx(2 / 3)


def test_each_symbol_keeps_its_own_average_cost():
    trades = [buy("AAPL", 1, "100"), buy("MSFT", 1, "400"), sell("AAPL", 1, "150"), sell("MSFT", 1, "300")]
    assert win_rate(trades) == 0.5


def test_total_trades_counts_buys_and_sells_only():
    trades = [
        buy("AAPL", 1, "100"),
        TradeRecord("NO_TRADE", None, None, None),
        sell("AAPL", 1, "101"),
        TradeRecord(ActionType.NO_TRADE, None, None, None),
    ]
    figures = compute_performance(1000, days(1000, 1001), trades, P)
    assert figures.total_trades == 2 and figures.win_rate == 1.0


def split(symbol: str, held: int, ratio: str) -> TradeRecord:
    return TradeRecord("SPLIT", symbol, held, Decimal(ratio))


def test_a_split_divides_the_average_cost_so_a_sell_after_it_is_judged_per_new_share():
    # 10 at 100 (cost 1,000), 2-for-1: 20 shares at an average of 50; 20 sold at 55 bring 1,100: a win.
    trades = [buy("AAPL", 10, "100"), split("AAPL", 10, "2"), sell("AAPL", 20, "55")]
    assert win_rate(trades) == 1.0
    assert win_rate([buy("AAPL", 10, "100"), sell("AAPL", 10, "55")]) == 0.0  # without the split: a loss


def test_a_split_with_a_fractional_share_keeps_the_cost_of_the_whole_shares_left():
    # 5 at 90 (cost 450), 3-for-2: 7.5 shares, 7 kept, cost 450 x 7 / 7.5 = 420 (60 a share).
    before = [buy("AAPL", 5, "90"), split("AAPL", 5, "1.5")]
    assert win_rate([*before, sell("AAPL", 7, "59")]) == 0.0  # 413 < 420
    assert win_rate([*before, sell("AAPL", 7, "61")]) == 1.0  # 427 > 420
    # 1-for-3 stored as 0.333333: 9 shares at 30 (cost 270) become 3 at 90.
    reverse = [buy("AAPL", 9, "30"), split("AAPL", 9, "0.333333")]
    assert win_rate([*reverse, sell("AAPL", 3, "90")]) == 0.0  # exactly the cost: not a win
    assert win_rate([*reverse, sell("AAPL", 3, "90.01")]) == 1.0


def test_fees_enter_the_cost_of_a_buy_and_come_off_the_proceeds_of_a_sell():
    bought = TradeRecord("BUY", "AAPL", 10, Decimal("100"), Decimal("5"))  # cost 1,005
    # 10 x 100.40 - 5 = 999 < 1,005: a loss, though the price beat the average price paid
    assert win_rate([bought, TradeRecord("SELL", "AAPL", 10, Decimal("100.40"), Decimal("5"))]) == 0.0
    # 10 x 101.10 - 5 = 1,006 > 1,005: a win
    assert win_rate([bought, TradeRecord("SELL", "AAPL", 10, Decimal("101.10"), Decimal("5"))]) == 1.0


def test_total_fees_and_dividends_sum_the_rows_and_neither_counts_as_a_trade():
    trades = [
        TradeRecord("BUY", "MSFT", 120, Decimal("25"), Decimal("2.22")),
        TradeRecord("DIVIDEND", "MSFT", 120, Decimal("3.03")),  # 363.60
        split("MSFT", 120, "2"),
        TradeRecord("DIVIDEND", "MSFT", 240, Decimal("0.08")),  # 19.20
        TradeRecord("SELL", "MSFT", 240, Decimal("14"), Decimal("1.50")),
    ]
    figures = compute_performance(10000, days(10000, 10100), trades, P)
    assert figures.total_fees == approx(3.72)
    assert figures.total_dividends == approx(382.80)
    assert figures.total_trades == 2
    # 240 x 14 - 1.50 = 3,358.50 against a cost of 3,002.22
    assert figures.win_rate == 1.0


# A real price series, checked against an independent pandas computation.


def read_daily_closes(path: Path, symbols: list[str]) -> pd.DataFrame:
    """Alpha Vantage JSON Lines: (date x symbol) of opens and closes; a bar may carry only its open."""
    frames = {}
    with path.open() as lines:
        for line in lines:
            record = json.loads(line)
            symbol = record["Meta Data"]["2. Symbol"]
            if symbol in symbols:
                bars = record["Time Series (Daily)"]
                frames[symbol] = pd.DataFrame(
                    {
                        "open": {d: float(b["1. buy price"]) for d, b in bars.items()},
                        "close": {d: float(b["4. sell price"]) for d, b in bars.items() if "4. sell price" in b},
                    }
                )
    table = pd.concat(frames, axis=1).sort_index()
    table.index = pd.to_datetime(table.index).date
    return table


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    table = read_daily_closes(DAILY_PRICES, ["AAPL", "MSFT", "NVDA"])
    return table.dropna()  # days where every symbol has a close


def test_a_buy_and_hold_portfolio_on_real_prices_matches_pandas(prices):
    initial = 10000.0
    first_day = prices.iloc[0]
    shares = {s: int((initial / 3) // first_day[(s, "open")]) for s in ("AAPL", "MSFT", "NVDA")}
    cash = initial - sum(n * first_day[(s, "open")] for s, n in shares.items())
    closes = prices.xs("close", axis=1, level=1)
    values = cash + sum(closes[s] * n for s, n in shares.items())
    trades = [TradeRecord("BUY", s, n, Decimal(str(first_day[(s, "open")]))) for s, n in shares.items()]

    figures = compute_performance(initial, list(values.items()), trades, P)

    series = pd.concat([pd.Series([initial]), pd.Series(values.to_numpy())], ignore_index=True)
    returns = series.pct_change().dropna()
    downside = math.sqrt((returns.clip(upper=0) ** 2).mean())
    assert len(returns) == len(prices) > 100
    assert figures.trading_days == len(prices)
    assert figures.final_value == approx(series.iloc[-1])
    assert figures.total_return == approx(series.iloc[-1] / initial - 1)
    assert figures.annualized_return == approx((series.iloc[-1] / initial) ** (252 / len(returns)) - 1)
    assert figures.volatility == approx(returns.std() * math.sqrt(252))
    assert figures.sharpe_ratio == approx(returns.mean() / returns.std() * math.sqrt(252))
    assert figures.sortino_ratio == approx(returns.mean() * 252 / (downside * math.sqrt(252)))
    assert figures.max_drawdown == approx((1 - series / series.cummax()).max())
    assert figures.max_drawdown > 0.1  # the spring 2025 sell-off is in this window
    assert figures.total_trades == 3 and figures.win_rate is None


def test_each_real_symbol_held_alone_matches_pandas(prices):
    closes = prices.xs("close", axis=1, level=1)
    for symbol in closes.columns:
        curve = list(closes[symbol].items())
        initial = float(prices[(symbol, "open")].iloc[0])
        figures = compute_performance(initial, curve, [], P)
        series = pd.concat([pd.Series([initial]), closes[symbol].reset_index(drop=True)], ignore_index=True)
        returns = series.pct_change().dropna()
        assert figures.volatility == approx(returns.std() * math.sqrt(252)), symbol
        assert figures.sharpe_ratio == approx(returns.mean() / returns.std() * math.sqrt(252)), symbol
        assert figures.max_drawdown == approx((1 - series / series.cummax()).max()), symbol


# The figures of a stored run.


async def make_run(mode: TradingMode = TradingMode.DAILY, **fields) -> Run:
    user = await User.create(email=f"metrics-{uuid.uuid4().hex[:10]}@example.com", password_hash="x")
    model = await TradingModel.create(
        owner=user,
        name="Metrics",
        signature="metrics",
        allowed_tickers=["AAPL"],
        initial_cash=Decimal("10000"),
        ai_model="local/momentum",
    )
    return await Run.create(
        model=model,
        run_number=1,
        mode=mode,
        strategy_snapshot={"initial_cash": "1000.00", "allowed_tickers": ["AAPL"]},
        **fields,
    )


async def test_a_run_without_equity_points_has_no_figures(server_url):
    run = await make_run()
    await record_no_trade(run, date=dt.date(2025, 1, 2), timestamp=dt.datetime(2025, 1, 2, 15, tzinfo=dt.UTC))
    assert await run_performance(run) is None


async def test_a_stored_daily_run_reports_the_figures_of_its_curve_and_trades(server_url):
    run = await make_run()
    ledger = {"allowed_tickers": ["AAPL"]}
    day = [dt.date(2025, 1, 2) + dt.timedelta(days=i) for i in range(3)]
    at = [dt.datetime.combine(d, dt.time(21), tzinfo=dt.UTC) for d in day]
    await apply_trade(
        run,
        action=ActionType.BUY,
        symbol="AAPL",
        amount=5,
        price=Decimal("100"),
        date=day[0],
        timestamp=at[0],
        **ledger,
    )
    await record_close(run, date=day[0], timestamp=at[0], prices={"AAPL": Decimal("120")})  # 500 + 600 = 1100
    await apply_trade(
        run,
        action=ActionType.SELL,
        symbol="AAPL",
        amount=2,
        price=Decimal("90"),
        date=day[1],
        timestamp=at[1],
        **ledger,
    )  # a loss against the cost of 100
    await record_close(run, date=day[1], timestamp=at[1], prices={"AAPL": Decimal("80")})  # 680 + 240 = 920
    await record_no_trade(run, date=day[2], timestamp=at[2])
    await record_close(run, date=day[2], timestamp=at[2], prices={"AAPL": Decimal("100")})  # 680 + 300 = 980

    figures = await run_performance(run)
    assert figures == compute_performance(
        Decimal("1000"),
        list(zip(day, [1100, 920, 980], strict=True)),
        [buy("AAPL", 5, "100"), sell("AAPL", 2, "90"), TradeRecord("NO_TRADE", None, None, None)],
        P,
    )
    assert (figures.initial_value, figures.final_value) == (1000.0, 980.0)
    assert figures.total_return == approx(-0.02)
    assert figures.max_drawdown == approx(1 - 920 / 1100)
    assert (figures.total_trades, figures.win_rate, figures.trading_days) == (2, 0.0, 3)


async def test_a_stored_intraday_run_annualises_by_the_bars_of_its_session(server_url):
    run = await make_run(
        TradingMode.INTRADAY,
        session=IntradaySession.REGULAR,
        bar_interval=PriceInterval.HOUR,
        symbol="AAPL",
        date=dt.date(2025, 10, 2),
    )
    await apply_trade(
        run,
        action=ActionType.BUY,
        symbol="AAPL",
        amount=4,
        price=Decimal("250"),
        date=dt.date(2025, 10, 2),
        timestamp=dt.datetime(2025, 10, 2, 14, tzinfo=dt.UTC),
        allowed_tickers=["AAPL"],
    )
    for hour, price in ((14, "251"), (15, "249"), (16, "252")):
        await record_close(
            run,
            date=dt.date(2025, 10, 2),
            timestamp=dt.datetime(2025, 10, 2, hour, tzinfo=dt.UTC),
            prices={"AAPL": Decimal(price)},
        )
    figures = await run_performance(run)
    curve = [(dt.date(2025, 10, 2), v) for v in (1004, 996, 1008)]
    assert figures == compute_performance(1000, curve, [buy("AAPL", 4, "250")], 252 * 6)
    assert figures.trading_days == 1
    assert await run_performance(run, bars_per_session=7) == compute_performance(
        1000, curve, [buy("AAPL", 4, "250")], 252 * 7
    )
