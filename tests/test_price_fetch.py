"""Fetching from Alpha Vantage (a local stand-in speaking its real shapes over HTTP) into the price tables."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from db_models.market import CorporateAction, CorporateActionKind, PriceBar, PriceInterval
from db_models.price_fetch.client import AlphaVantageClient, ClientConfig
from db_models.price_fetch.errors import MissingApiKey, SymbolFailed
from db_models.price_fetch.planner import FetchRequest
from db_models.price_fetch.responses import parse_bars
from db_models.price_fetch.results import SymbolStatus
from db_models.price_fetch.runner import fetch_prices
from db_models.price_fetches import PriceFetchCoverage
from tests.support.alphavantage import API_KEY, BURST_NOTE, daily_rows, hourly_rows, running_alphavantage
from tests.support.price_state import restored_market_data
from tests.support.server import free_port

NEW_YORK = ZoneInfo("America/New_York")
# The evening after the stand-in's newest complete bar (2025-10-29): every session up to it is over.
EVENING = dt.datetime(2025, 10, 29, 22, 0, tzinfo=dt.UTC)
JUNE_10, OCT_29 = dt.date(2025, 6, 10), dt.date(2025, 10, 29)


@pytest_asyncio.fixture(scope="module")
async def alphavantage():
    async with running_alphavantage() as stand_in:
        yield stand_in


@pytest_asyncio.fixture
async def provider(alphavantage, server_url):
    """The stand-in, reset; the price tables are as they were after the test."""
    alphavantage.reset()
    try:
        async with restored_market_data():
            yield alphavantage
    finally:
        await PriceFetchCoverage.all().delete()


@pytest.fixture
def av_settings(settings, provider):
    return replace(
        settings,
        alphavantage_api_key=API_KEY,
        alphavantage_url=provider.url,
        alphavantage_calls_per_minute=60_000,
        alphavantage_throttle_wait_seconds=0.01,
    )


def daily(*symbols: str, start=JUNE_10, end=OCT_29, actions=True) -> FetchRequest:
    return FetchRequest(symbols=symbols, interval=PriceInterval.DAY, start=start, end=end, actions=actions)


async def stored_daily(symbol: str) -> list[PriceBar]:
    return await PriceBar.filter(symbol=symbol, interval=PriceInterval.DAY).order_by("timestamp")


# ------------------------------------------------------------------------------------------ what is stored


async def test_a_daily_fetch_stores_exactly_the_providers_bars_splits_and_dividends(av_settings, provider):
    report = await fetch_prices(av_settings, daily("AAPL", "NVDA"), now=EVENING)

    assert report.ok and [r.status for r in report.results] == [SymbolStatus.FETCHED] * 2
    for symbol in ("AAPL", "NVDA"):
        expected = daily_rows(symbol)
        bars = await stored_daily(symbol)
        assert len(bars) == len(expected) == 99
        for bar, (day, o, h, lo, c, v) in zip(bars, expected, strict=True):
            assert bar.trade_date == dt.date.fromisoformat(day)
            assert bar.timestamp == dt.datetime.combine(bar.trade_date, dt.time(9, 30), NEW_YORK)
            assert (bar.open, bar.high, bar.low, bar.close) == tuple(Decimal(x) for x in (o, h, lo, c))
            assert bar.volume == float(v) and bar.source == "alphavantage TIME_SERIES_DAILY"
    result = report.results[0]
    assert (result.bars_added, result.first_date, result.last_date) == (99, JUNE_10, OCT_29)
    assert result.actions_added == 5 and result.requests == 3

    actions = await CorporateAction.filter(symbol="AAPL").order_by("ex_date")
    assert [(a.ex_date.isoformat(), a.kind, a.ratio, a.amount, a.source) for a in actions] == [
        ("2014-06-09", CorporateActionKind.SPLIT, Decimal(7), None, "alphavantage SPLITS"),
        ("2020-08-31", CorporateActionKind.SPLIT, Decimal(4), None, "alphavantage SPLITS"),
        ("2025-02-10", CorporateActionKind.DIVIDEND, None, Decimal("0.25"), "alphavantage DIVIDENDS"),
        ("2025-05-12", CorporateActionKind.DIVIDEND, None, Decimal("0.26"), "alphavantage DIVIDENDS"),
        ("2025-08-11", CorporateActionKind.DIVIDEND, None, Decimal("0.26"), "alphavantage DIVIDENDS"),
    ]
    nvda_split = await CorporateAction.get(symbol="NVDA", ex_date=dt.date(2024, 6, 10))
    assert nvda_split.ratio == Decimal(10)
    # June 10 is more than 95 sessions before the evening of Oct 29: the compact window would not reach it.
    assert [r["outputsize"] for r in provider.asked(function="TIME_SERIES_DAILY")] == ["full", "full"]
    assert {r["apikey"] for r in provider.requests} == {API_KEY}


async def test_a_range_within_the_newest_100_sessions_asks_for_the_compact_series(av_settings, provider):
    report = await fetch_prices(av_settings, daily("MSFT", start=dt.date(2025, 8, 1)), now=EVENING)

    assert report.ok
    assert [r["outputsize"] for r in provider.asked(function="TIME_SERIES_DAILY")] == ["compact"]
    bars = await stored_daily("MSFT")
    expected = [row for row in daily_rows("MSFT") if row[0] >= "2025-08-01"]
    assert [b.trade_date.isoformat() for b in bars] == [row[0] for row in expected]


async def test_intraday_bars_are_fetched_month_by_month_as_traded_with_extended_hours(av_settings, provider):
    request = FetchRequest(
        symbols=("AAPL",), interval=PriceInterval.HOUR, start=dt.date(2025, 10, 1), end=dt.date(2025, 11, 10)
    )
    report = await fetch_prices(av_settings, request, now=dt.datetime(2025, 11, 11, 12, tzinfo=dt.UTC))

    assert report.ok, report.outcome()
    months = provider.asked(function="TIME_SERIES_INTRADAY")
    assert [m["month"] for m in months] == ["2025-10", "2025-11"]
    assert all(
        (m["interval"], m["outputsize"], m["adjusted"], m["extended_hours"], m["datatype"])
        == ("60min", "full", "false", "true", "csv")
        for m in months
    )
    bars = await PriceBar.filter(symbol="AAPL", interval=PriceInterval.HOUR).order_by("timestamp")
    expected = hourly_rows("AAPL")
    assert len(bars) == len(expected) == 173
    for bar, (stamp, o, h, lo, c, v) in zip(bars, expected, strict=True):
        assert bar.timestamp == dt.datetime.fromisoformat(stamp).replace(tzinfo=NEW_YORK)
        assert (bar.open, bar.high, bar.low, bar.close) == tuple(Decimal(x) for x in (o, h, lo, c))
        assert bar.volume == float(v) and bar.source == "alphavantage TIME_SERIES_INTRADAY"
    assert report.results[0].actions_added == 5  # splits and dividends come with intraday fetches too

    again = await fetch_prices(av_settings, request, now=dt.datetime(2025, 11, 11, 12, tzinfo=dt.UTC))
    assert again.results[0].status is SymbolStatus.UP_TO_DATE and again.requests == 0


async def test_sessions_still_trading_are_left_for_a_later_fetch(av_settings, provider):
    two_pm = dt.datetime(2025, 10, 29, 14, 0, tzinfo=NEW_YORK)
    report = await fetch_prices(av_settings, daily("AAPL", start=dt.date(2025, 10, 1), end=None), now=two_pm)

    assert report.ok
    assert (await stored_daily("AAPL"))[-1].trade_date == dt.date(2025, 10, 28)
    later = await fetch_prices(av_settings, daily("AAPL", start=dt.date(2025, 10, 1), end=None), now=EVENING)
    assert later.results[0].bars_added == 1
    assert (await stored_daily("AAPL"))[-1].trade_date == OCT_29


# ------------------------------------------------------------------------------------------ incremental


async def test_a_second_identical_fetch_asks_the_provider_for_nothing(av_settings, provider):
    await fetch_prices(av_settings, daily("AAPL", "MSFT"), now=EVENING)
    provider.requests.clear()

    again = await fetch_prices(av_settings, daily("AAPL", "MSFT"), now=EVENING)

    assert provider.requests == []
    assert [(r.status, r.requests) for r in again.results] == [(SymbolStatus.UP_TO_DATE, 0)] * 2
    assert len(await stored_daily("AAPL")) == 99


async def test_the_next_evening_asks_only_for_the_newest_sessions(av_settings, provider):
    await fetch_prices(av_settings, daily("AAPL", end=dt.date(2025, 10, 27)), now=EVENING)
    provider.requests.clear()

    report = await fetch_prices(av_settings, daily("AAPL", start=None, end=None), now=EVENING)

    assert [r["outputsize"] for r in provider.asked(function="TIME_SERIES_DAILY")] == ["compact"]
    result = report.results[0]
    assert (result.bars_added, result.last_date, result.actions_added) == (2, OCT_29, 0)
    assert len(await stored_daily("AAPL")) == 99


async def test_sessions_the_provider_has_no_bar_for_are_not_asked_again(av_settings, provider):
    # The stand-in's AAPL starts 2025-06-10: the sessions before it are answered for, and remembered so.
    await fetch_prices(av_settings, daily("AAPL", start=dt.date(2025, 5, 1)), now=EVENING)
    provider.requests.clear()

    again = await fetch_prices(av_settings, daily("AAPL", start=dt.date(2025, 5, 1)), now=EVENING)

    assert provider.requests == [] and again.results[0].status is SymbolStatus.UP_TO_DATE
    assert await PriceFetchCoverage.filter(symbol="AAPL").values_list("first_date", "last_date") == [
        (dt.date(2025, 5, 1), OCT_29)
    ]


# ------------------------------------------------------------------------------------------ refusals


async def test_an_unknown_symbol_fails_with_the_providers_words_and_the_others_go_on(av_settings, provider):
    report = await fetch_prices(av_settings, daily("AAPL", "ZZZZ", "MSFT"), now=EVENING)

    assert [r.status for r in report.results] == [SymbolStatus.FETCHED, SymbolStatus.FAILED, SymbolStatus.FETCHED]
    failed = report.results[1]
    assert failed.message.startswith("Invalid API call. Please retry or visit the documentation")
    assert report.failed == ["ZZZZ"] and not report.ok and "Failed: ZZZZ" in report.outcome()
    assert await PriceBar.filter(symbol="ZZZZ").count() == 0
    assert await PriceFetchCoverage.filter(symbol="ZZZZ").count() == 0


async def test_a_symbol_that_fails_after_some_answers_writes_nothing(av_settings, provider):
    provider.errors["DIVIDENDS", "AAPL"] = "Invalid API call. Please retry or visit the documentation."

    report = await fetch_prices(av_settings, daily("AAPL", "MSFT"), now=EVENING)

    assert [r.status for r in report.results] == [SymbolStatus.FAILED, SymbolStatus.FETCHED]
    assert len(provider.asked(symbol="AAPL")) == 3  # its bars and splits came, then its dividends failed
    assert await PriceBar.filter(symbol="AAPL").count() == 0
    assert await CorporateAction.filter(symbol="AAPL").count() == 0
    assert await PriceFetchCoverage.filter(symbol="AAPL").count() == 0


@pytest.mark.parametrize("note", ["per-minute", "burst"])
async def test_throttle_notes_are_waited_out_and_the_call_asked_again(av_settings, provider, note):
    provider.throttle_next = 2
    if note == "burst":
        provider.throttle_note = BURST_NOTE

    report = await fetch_prices(av_settings, daily("AAPL"), now=EVENING)

    assert report.ok and report.results[0].bars_added == 99
    assert len(provider.asked(function="TIME_SERIES_DAILY")) == 3  # two throttled, then answered
    assert report.results[0].requests == 5


async def test_a_throttle_that_never_clears_is_taken_as_the_daily_limit(av_settings, provider):
    provider.throttle_next = 1_000

    report = await fetch_prices(av_settings, daily("AAPL", "MSFT"), now=EVENING)

    assert "daily limit" in report.stopped and "5 calls per minute" in report.stopped
    assert len(provider.requests) == 5 and report.not_fetched == ["AAPL", "MSFT"]


async def test_the_daily_limit_stops_the_fetch_and_keeps_the_symbols_already_written(av_settings, provider):
    provider.daily_quota = 4  # AAPL's three calls, then MSFT's daily bars; its splits are refused

    report = await fetch_prices(av_settings, daily("AAPL", "MSFT", "NVDA"), now=EVENING)

    assert [r.status for r in report.results] == [SymbolStatus.FETCHED] + [SymbolStatus.NOT_FETCHED] * 2
    assert report.stopped.startswith("Alpha Vantage's daily request limit is reached: We have detected your API key")
    assert API_KEY not in report.stopped and "[redacted]" in report.stopped
    assert report.not_fetched == ["MSFT", "NVDA"] and "run the same fetch again later" in report.outcome()
    assert provider.asked(symbol="NVDA") == []
    assert len(await stored_daily("AAPL")) == 99 and await PriceBar.filter(symbol="MSFT").count() == 0

    provider.daily_quota = None  # the next day
    provider.requests.clear()
    resumed = await fetch_prices(av_settings, daily("AAPL", "MSFT", "NVDA"), now=EVENING)
    assert provider.asked(symbol="AAPL") == [] and resumed.ok
    assert [r.status for r in resumed.results] == [SymbolStatus.UP_TO_DATE, SymbolStatus.FETCHED, SymbolStatus.FETCHED]


async def test_a_missing_key_fails_before_any_request(av_settings, provider):
    with pytest.raises(MissingApiKey, match="ALPHAVANTAGE_API_KEY is not set"):
        await fetch_prices(replace(av_settings, alphavantage_api_key=None), daily("AAPL"), now=EVENING)
    assert provider.requests == []


async def test_a_refused_key_stops_the_fetch_with_the_providers_words(av_settings, provider):
    report = await fetch_prices(replace(av_settings, alphavantage_api_key="WRONGKEY1"), daily("AAPL", "MSFT"))

    assert report.stopped.startswith("Alpha Vantage refused the key: the parameter apikey is invalid or missing")
    assert report.not_fetched == ["AAPL", "MSFT"] and len(provider.requests) == 1


async def test_a_free_key_falls_back_from_the_full_history_to_the_newest_100_sessions(av_settings, provider):
    provider.full_is_premium = True

    report = await fetch_prices(av_settings, daily("AAPL", "MSFT", actions=False), now=EVENING)

    asked = [(r["symbol"], r["outputsize"]) for r in provider.asked(function="TIME_SERIES_DAILY")]
    assert asked == [("AAPL", "full"), ("AAPL", "compact"), ("MSFT", "compact")]  # refused once per fetch
    assert report.ok and [r.bars_added for r in report.results] == [99, 99]
    assert "need the full daily history, a premium feature" in report.results[0].message


async def test_a_premium_key_takes_splits_and_dividends_from_the_adjusted_series(av_settings, provider):
    provider.premium_key = True

    report = await fetch_prices(replace(av_settings, alphavantage_adjusted=True), daily("MSFT"), now=EVENING)

    assert report.ok
    assert {r["function"] for r in provider.requests} == {"TIME_SERIES_DAILY_ADJUSTED"}
    dividend = await CorporateAction.get(symbol="MSFT")  # the only ex-date inside the fetched sessions
    assert (dividend.ex_date, dividend.amount, dividend.source) == (
        dt.date(2025, 8, 21),
        Decimal("0.83"),
        "alphavantage TIME_SERIES_DAILY_ADJUSTED",
    )
    assert len(await stored_daily("MSFT")) == 99


async def test_an_adjusted_series_refused_to_a_free_key_falls_back_to_splits_and_dividends(av_settings, provider):
    report = await fetch_prices(replace(av_settings, alphavantage_adjusted=True), daily("MSFT"), now=EVENING)

    assert report.ok and report.results[0].actions_added == 3
    assert [r["function"] for r in provider.requests] == [
        "TIME_SERIES_DAILY_ADJUSTED",
        "TIME_SERIES_DAILY",
        "SPLITS",
        "DIVIDENDS",
    ]


# ------------------------------------------------------------------------------------------ the key stays secret


async def test_the_api_key_reaches_no_log_line_and_no_message(av_settings, provider, caplog):
    caplog.set_level(logging.DEBUG)
    provider.daily_quota = 1
    limited = await fetch_prices(av_settings, daily("AAPL", "MSFT"), now=EVENING)
    unreachable = replace(av_settings, alphavantage_url=f"http://127.0.0.1:{free_port()}/query")
    down = await fetch_prices(unreachable, daily("AAPL"), now=EVENING)

    assert "cannot be reached (ConnectError" in down.stopped
    assert "HTTP Request: GET" in caplog.text and "apikey=[redacted]" in caplog.text
    texts = [caplog.text, limited.stopped, down.stopped, *(r.summary() for r in limited.results + down.results)]
    assert all(API_KEY not in text for text in texts)
    assert API_KEY not in repr(av_settings)


# ------------------------------------------------------------------------------------------ the answers' shapes


async def test_csv_and_json_series_give_the_same_bars_and_csv_errors_come_as_json(av_settings, provider):
    config = ClientConfig.from_settings(av_settings)
    async with AlphaVantageClient(config) as client:
        as_json = await client.query({"function": "TIME_SERIES_DAILY", "symbol": "NVDA", "datatype": "json"})
        as_csv = await client.query({"function": "TIME_SERIES_DAILY", "symbol": "NVDA", "datatype": "csv"})
        with pytest.raises(SymbolFailed, match=r"^Invalid API call"):
            await client.query({"function": "TIME_SERIES_INTRADAY", "symbol": "ZZZZ", "interval": "60min",
                                "month": "2025-10", "datatype": "csv"})  # fmt: skip

    assert as_json.json is not None and as_csv.csv is not None and as_csv.csv.startswith("timestamp,open,")
    from_json = parse_bars(as_json, "NVDA", PriceInterval.DAY, "x")
    from_csv = parse_bars(as_csv, "NVDA", PriceInterval.DAY, "x")
    assert len(from_json) == 99 and sorted(from_json, key=lambda b: b.timestamp) == sorted(
        from_csv, key=lambda b: b.timestamp
    )


async def test_an_unknown_symbol_fails_an_intraday_fetch_too(av_settings, provider):
    request = FetchRequest(
        symbols=("ZZZZ", "AMZN"), interval=PriceInterval.HOUR, start=dt.date(2025, 11, 3), end=dt.date(2025, 11, 7)
    )
    report = await fetch_prices(av_settings, request, now=dt.datetime(2025, 11, 11, 12, tzinfo=dt.UTC))

    assert [r.status for r in report.results] == [SymbolStatus.FAILED, SymbolStatus.FETCHED]
    assert report.results[0].message.startswith("Invalid API call.")
    assert report.results[1].bars_added == 30  # five sessions of six hourly bars
