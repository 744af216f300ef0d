"""Splits and dividends: derived from adjusted closes, stored once per symbol, ex-date and kind, read back in order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import pytest_asyncio

from db_models.corporate_actions import Action, AdjustedClose, actions_between, derive_actions, store_actions
from db_models.market import CorporateAction, CorporateActionKind, PriceBar
from db_models.price_seed import BOKEH_ACTIONS_SOURCE, bokeh_stocks_path, read_bokeh_actions, seed_shipped_prices
from tests.support.price_state import restored_market_data

SPLIT, DIVIDEND = CorporateActionKind.SPLIT, CorporateActionKind.DIVIDEND


def series(*rows: tuple[float, float], start: dt.date = dt.date(2020, 1, 1)) -> list[AdjustedClose]:
    return [AdjustedClose(start + dt.timedelta(days=i), close, adjusted) for i, (close, adjusted) in enumerate(rows)]


def kinds(actions: list[Action]) -> list[tuple[dt.date, str, Decimal | None]]:
    return [(a.ex_date, str(a.kind), a.ratio if a.kind is SPLIT else a.amount) for a in actions]


# ------------------------------------------------------------------------------------- derivation


def test_a_constant_adjustment_factor_means_no_action_and_rounding_noise_is_ignored():
    # Factor 2 throughout; the last day's adjusted close is off by one in its last printed digit.
    rows = series((100.0, 50.0), (102.0, 51.0), (101.0, 50.5), (99.0, 49.500001))
    assert derive_actions("XYZ", rows, "test") == []


def test_a_factor_that_halves_with_the_price_is_a_two_for_one_split():
    # Before the split the adjusted close is half the close (factor 2); from the ex-date it equals it.
    rows = series((100.0, 50.0), (98.0, 49.0), (49.5, 49.5), (50.0, 50.0))
    assert kinds(derive_actions("XYZ", rows, "test")) == [(dt.date(2020, 1, 3), "SPLIT", Decimal("2.000000"))]


def test_three_for_two_and_one_for_ten_reverse_splits_are_recognised():
    three_for_two = series((90.0, 60.0), (60.5, 60.5))
    one_for_ten = series((2.0, 20.0), (19.0, 19.0))
    assert kinds(derive_actions("A", three_for_two, "t")) == [(dt.date(2020, 1, 2), "SPLIT", Decimal("1.500000"))]
    assert kinds(derive_actions("B", one_for_ten, "t")) == [(dt.date(2020, 1, 2), "SPLIT", Decimal("0.100000"))]


def test_a_dividend_is_prev_close_times_one_minus_the_inverse_change_rounded_to_the_cent():
    # A 0.50 dividend on a 100.00 close: the adjustment multiplies earlier closes by 1 - 0.5/100 = 0.995.
    rows = series((100.0, 99.5), (99.6, 99.6))
    (action,) = derive_actions("XYZ", rows, "test")
    assert (action.kind, action.amount, action.ex_date, action.source) == (
        DIVIDEND,
        Decimal("0.50"),
        dt.date(2020, 1, 2),
        "test",
    )


def test_a_large_special_dividend_near_a_ratio_is_not_taken_for_a_split():
    # An 11 % dividend makes the factor change by about 10/9, but the price barely moves: not a split.
    rows = series((30.0, 26.97), (27.4, 27.4))
    (action,) = derive_actions("XYZ", rows, "test")
    assert action.kind is DIVIDEND and action.amount == Decimal("3.03")


def test_actions_refuse_impossible_values():
    with pytest.raises(ValueError, match="positive ratio"):
        Action.split("XYZ", dt.date(2020, 1, 1), Decimal("1"), "t")
    with pytest.raises(ValueError, match="above zero"):
        Action.dividend("XYZ", dt.date(2020, 1, 1), Decimal("0"), "t")


def test_the_shipped_prices_give_the_known_splits_and_close_to_the_known_dividends():
    actions = read_bokeh_actions(bokeh_stocks_path())
    splits = {(a.symbol, a.ex_date): a.ratio for a in actions if a.kind is SPLIT}
    dividends = {(a.symbol, a.ex_date): a.amount for a in actions if a.kind is DIVIDEND}
    # Every split in the file: AAPL 2-for-1 (2000-06-21, 2005-02-28), MSFT 2-for-1 (2003-02-18).
    assert splits == {
        ("AAPL", dt.date(2000, 6, 21)): Decimal("2"),
        ("AAPL", dt.date(2005, 2, 28)): Decimal("2"),
        ("MSFT", dt.date(2003, 2, 18)): Decimal("2"),
    }
    # Declared amounts, against what the adjusted closes imply (within 5 %: the source rounds its factors).
    declared = {
        ("MSFT", dt.date(2003, 2, 19)): Decimal("0.08"),  # MSFT's first dividend
        ("MSFT", dt.date(2004, 11, 15)): Decimal("3.08"),  # $3.00 special + $0.08 quarterly
        ("AAPL", dt.date(2012, 8, 9)): Decimal("2.65"),
        ("IBM", dt.date(2000, 5, 8)): Decimal("0.13"),
    }
    for key, amount in declared.items():
        assert abs(dividends[key] / amount - 1) < Decimal("0.05"), (key, dividends[key], amount)
    assert dividends[("MSFT", dt.date(2004, 11, 15))] == Decimal("3.03")
    # IBM paid quarterly throughout; GOOG and FB paid nothing in the file's years.
    assert sum(symbol == "IBM" for symbol, _ in dividends) == 52
    assert not any(symbol in ("GOOG", "FB") for symbol, _ in {**splits, **dividends})


# ------------------------------------------------------------------------------------- storage


@pytest_asyncio.fixture
async def market_data(server_url):
    async with restored_market_data():
        yield


async def test_storing_actions_again_replaces_them_and_reading_them_is_ordered_and_ranged(market_data):
    await CorporateAction.all().delete()
    day = dt.date(2021, 6, 1)
    first = [
        Action.split("BBB", day, Decimal("4"), "one"),
        Action.dividend("BBB", day, Decimal("0.10"), "one"),
        Action.dividend("AAA", day + dt.timedelta(days=30), Decimal("1.00"), "one"),
    ]
    assert await store_actions(first) == 3
    assert await store_actions([Action.dividend("BBB", day, Decimal("0.12"), "two")]) == 0

    read = await actions_between(["BBB", "AAA"])
    # On one ex-date the dividend comes before the split; then by date.
    assert [(a.symbol, str(a.kind), a.amount or a.ratio, a.source) for a in read] == [
        ("BBB", "DIVIDEND", Decimal("0.12"), "two"),
        ("BBB", "SPLIT", Decimal("4"), "one"),
        ("AAA", "DIVIDEND", Decimal("1"), "one"),
    ]
    assert await actions_between(["AAA", "BBB"], start=day + dt.timedelta(days=1)) == [read[2]]
    assert await actions_between(["BBB"], end=day - dt.timedelta(days=1)) == []

    assert await store_actions([Action.dividend("BBB", day, Decimal("9"), "three")], overwrite=False) == 0
    assert (await CorporateAction.get(symbol="BBB", kind=DIVIDEND)).amount == Decimal("0.12")


async def test_seeding_stores_the_derived_actions_once_and_adds_them_to_an_install_seeded_before(market_data):
    await PriceBar.all().delete()
    await CorporateAction.all().delete()
    await seed_shipped_prices()
    derived = await CorporateAction.filter(source=BOKEH_ACTIONS_SOURCE).count()
    assert derived == len(read_bokeh_actions(bokeh_stocks_path())) > 90

    # An install whose bars were seeded before actions existed: the next start adds the actions only.
    await CorporateAction.all().delete()
    bars = await PriceBar.all().count()
    outcomes = await seed_shipped_prices()
    assert await CorporateAction.filter(source=BOKEH_ACTIONS_SOURCE).count() == derived
    assert await PriceBar.all().count() == bars
    assert sum(o.actions for o in outcomes) == derived and sum(o.bars for o in outcomes) == 0

    assert {o.status for o in await seed_shipped_prices()} <= {"already loaded", "unavailable"}
