"""The baseline maths: a frictionless buy-and-hold by hand, and the relative figures by hand and by pandas."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from db_models.buy_and_hold import Quote, ValuationPoint, hold_curve
from db_models.corporate_actions import Action
from db_models.relative import relative_performance

approx = pytest.approx
DAYS = [dt.date(2025, 3, 3) + dt.timedelta(days=i) for i in range(5)]
POINTS = [ValuationPoint(d, dt.datetime.combine(d, dt.time(14, 30), tzinfo=dt.UTC)) for d in DAYS]


def q(open_: str, close: str) -> Quote:
    return Quote(Decimal(open_), Decimal(close))


def values(result) -> list[Decimal]:
    return [p.value for p in result.points]


def test_the_cash_is_split_equally_by_value_at_the_first_open_and_valued_at_each_close():
    # 10,000: 5,000 buys 50 A at 100 and 100 B at 50.
    quotes = [{"A": q("100", "110"), "B": q("50", "45")}, {"A": q("111", "120"), "B": q("44", "50")}]
    result = hold_curve(Decimal("10000"), ["A", "B"], POINTS[:2], quotes)
    assert values(result) == [Decimal("10000"), Decimal("11000")]  # 50×110 + 100×45; 50×120 + 100×50
    assert [p.cash for p in result.points] == [0, 0]
    assert [(b.symbol, b.price, b.shares) for b in result.purchases] == [("A", 100, 50), ("B", 50, 100)]


def test_fractional_shares_leave_no_cash_over():
    quotes = [{"A": q("300", "300")}, {"A": q("300", "330")}]
    result = hold_curve(Decimal("1000"), ["A"], POINTS[:2], quotes)
    assert result.purchases[0].shares == Decimal(1000) / 300
    assert float(values(result)[1]) == approx(1100.0, abs=1e-9)  # 1000 × 330 / 300


def test_a_split_multiplies_the_shares_and_keeps_the_value_whole():
    # 20 shares at 50; a 2-for-1 split on day 2 halves the price: 40 shares at 26 = 1,040.
    quotes = [{"A": q("50", "52")}, {"A": q("26", "26")}, {"A": q("26", "27")}]
    split = Action.split("A", DAYS[1], Decimal("2"), "test")
    result = hold_curve(Decimal("1000"), ["A"], POINTS[:3], quotes, [split])
    assert values(result) == [Decimal("1040"), Decimal("1040"), Decimal("1080")]


def test_a_dividend_pays_cash_on_the_shares_held_before_a_split_on_the_same_day():
    # 10 shares at 100; on day 2 a dividend of 1.50 a share (15.00 cash), then a 3-for-1 split: 30 shares.
    quotes = [{"A": q("100", "100")}, {"A": q("33", "34")}]
    actions = [Action.dividend("A", DAYS[1], Decimal("1.5"), "test"), Action.split("A", DAYS[1], Decimal("3"), "t")]
    result = hold_curve(Decimal("1000"), ["A"], POINTS[:2], quotes, actions)
    assert [p.cash for p in result.points] == [Decimal("0"), Decimal("15")]
    assert values(result)[1] == Decimal("1035")  # 30 × 34 + 15
    assert result.dividends == Decimal("15")


def test_an_action_between_two_points_applies_at_the_next_open_and_one_before_the_purchase_never():
    quotes = [{"A": q("100", "100")}, {"A": q("50", "50")}]
    before = Action.dividend("A", DAYS[0] - dt.timedelta(days=7), Decimal("5"), "t")
    on_the_first_day = Action.split("A", DAYS[0], Decimal("2"), "t")  # applies at the open, before the purchase
    split = Action.split("A", DAYS[1], Decimal("2"), "t")  # DAYS[1] has no point: applies at DAYS[3]'s open
    result = hold_curve(Decimal("1000"), ["A"], [POINTS[0], POINTS[3]], quotes, [before, on_the_first_day, split])
    assert values(result) == [Decimal("1000"), Decimal("1000")]  # 10 shares at 100, then 20 at 50
    assert [p.cash for p in result.points] == [0, 0]


def test_a_symbol_without_a_first_bar_waits_as_cash_and_is_bought_at_its_first_open():
    quotes = [{"A": q("10", "11")}, {"A": q("11", "12"), "B": q("20", "25")}, {"A": q("12", "12"), "B": q("25", "30")}]
    result = hold_curve(Decimal("200"), ["A", "B"], POINTS[:3], quotes)
    # A: 10 shares at 10. B's 100 waits, then buys 5 at 20.
    assert values(result) == [Decimal("210"), Decimal("245"), Decimal("270")]
    assert [p.cash for p in result.points] == [Decimal("100"), Decimal("0"), Decimal("0")]
    assert [(b.symbol, b.date) for b in result.purchases] == [("A", DAYS[0]), ("B", DAYS[1])]


def test_a_missing_close_is_valued_at_the_last_close_and_a_never_priced_symbol_stays_cash():
    quotes = [{"A": q("10", "11")}, {}, {"A": q("12", "13")}]
    result = hold_curve(Decimal("200"), ["A", "NOPE"], POINTS[:3], quotes)
    assert values(result) == [Decimal("210"), Decimal("210"), Decimal("230")]
    assert all(p.cash == Decimal("100") for p in result.points)


def test_no_symbols_is_a_flat_line_of_cash():
    result = hold_curve(Decimal("500"), [], POINTS[:2], [{}, {}])
    assert values(result) == [Decimal("500"), Decimal("500")] and result.purchases == []


def test_quotes_must_match_the_points():
    with pytest.raises(ValueError):
        hold_curve(Decimal("1"), ["A"], POINTS[:2], [{}])


# Relative figures.


def test_the_relative_figures_match_the_hand_computation():
    # r = 0.1, -0.1 (110, 99 from 100); b = 0.05, -0.1 (105, 94.5 from 100).
    # mean r = 0, mean b = -0.025; cov = 0.1×0.075 + (-0.1)(-0.075) = 0.015; var b = 2 × 0.075² = 0.01125
    # beta = 4/3; alpha = (0 + 4/3 × 0.025) × 252 = 8.4; r - b = 0.05, 0: mean 0.025, std 0.025 × sqrt(2)
    figures = relative_performance(100, [110, 99], 100, [105, 94.5], 252)
    assert figures.excess_return == approx(-0.01 - (-0.055))
    assert figures.beta == approx(4 / 3)
    assert figures.alpha == approx(8.4)
    assert figures.tracking_error == approx(0.025 * math.sqrt(2) * math.sqrt(252))
    assert figures.information_ratio == approx(math.sqrt(126))  # 0.025 × 252 / (0.025 × sqrt(2) × sqrt(252))
    assert figures.correlation == approx(1.0)  # two points are always on a line


def test_the_relative_figures_match_an_independent_pandas_computation():
    rng = np.random.default_rng(7)
    b = rng.normal(0.0004, 0.012, 180)
    r = 0.3 * b + rng.normal(0.0002, 0.008, 180)
    run = 25_000 * np.cumprod(1 + r)
    bench = 25_000 * np.cumprod(1 + b)
    figures = relative_performance(25_000, list(run), 25_000, list(bench), 252)

    frame = pd.DataFrame({"run": np.r_[25_000, run], "bench": np.r_[25_000, bench]}).pct_change().dropna()
    active = frame["run"] - frame["bench"]
    beta = frame["run"].cov(frame["bench"]) / frame["bench"].var()
    assert figures.excess_return == approx(run[-1] / 25_000 - bench[-1] / 25_000)
    assert figures.beta == approx(beta)
    assert figures.alpha == approx((frame["run"].mean() - beta * frame["bench"].mean()) * 252)
    assert figures.tracking_error == approx(active.std() * math.sqrt(252))
    assert figures.information_ratio == approx(active.mean() * 252 / (active.std() * math.sqrt(252)))
    assert figures.correlation == approx(frame["run"].corr(frame["bench"]))
    assert 0.2 < figures.beta < 0.4  # the construction's 0.3, give or take the noise


def test_a_run_that_is_its_benchmark_has_beta_one_no_alpha_no_tracking_error_and_no_information_ratio():
    curve = [101, 99, 103, 104]
    figures = relative_performance(100, curve, 100, curve, 252)
    assert figures.excess_return == 0.0 and figures.beta == approx(1.0) and figures.alpha == approx(0.0, abs=1e-12)
    assert figures.tracking_error == 0.0 and figures.information_ratio is None
    assert figures.correlation == approx(1.0)


def test_a_flat_benchmark_leaves_beta_alpha_and_correlation_undefined():
    figures = relative_performance(100, [101, 99, 103], 100, [100, 100, 100], 252)
    assert figures.beta is None and figures.alpha is None and figures.correlation is None
    assert figures.excess_return == approx(0.03)
    assert figures.tracking_error == approx(pd.Series([0.01, 99 / 101 - 1, 103 / 99 - 1]).std() * math.sqrt(252))


def test_a_flat_run_has_a_beta_of_zero_but_no_correlation():
    figures = relative_performance(100, [100, 100, 100], 100, [101, 99, 103], 252)
    assert figures.beta == approx(0.0, abs=1e-12) and figures.correlation is None


def test_fewer_than_two_returns_give_only_the_excess_return():
    one = relative_performance(100, [105], 100, [102], 252)
    assert one.excess_return == approx(0.03)
    assert (one.beta, one.alpha, one.tracking_error, one.information_ratio, one.correlation) == (None,) * 5
    none = relative_performance(100, [], 100, [], 252)
    assert none.excess_return == 0.0 and none.beta is None


def test_curves_of_different_lengths_are_refused():
    with pytest.raises(ValueError):
        relative_performance(100, [1, 2], 100, [1], 252)
