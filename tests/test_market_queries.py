"""Query.symbols and Query.stockPrices over HTTP: public, validated, bounded."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio

from db_models.corporate_actions import Action, store_actions
from db_models.market import PriceBar, PriceInterval
from db_models.price_seed import bokeh_stocks_path, read_bokeh_actions, seed_shipped_prices
from graphql_api.market import queries
from tests.support.price_state import restored_market_data
from tests.support.processes import aibt_server, clean_env

NEW_YORK = ZoneInfo("America/New_York")
SYMBOLS = "query { symbols }"
PRICES = """query($symbol: String!, $from: Date, $to: Date, $interval: PriceInterval) {
  stockPrices(symbol: $symbol, from: $from, to: $to, interval: $interval) {
    symbol timestamp open high low close volume
  }
}"""
PRICES_DEFAULT = "query($symbol: String!) { stockPrices(symbol: $symbol) { timestamp close } }"
DAYS = [date(2025, 3, d) for d in (3, 4, 5, 6, 7)]


def day_bar(symbol: str, day: date, price: str, **fields) -> PriceBar:
    p = Decimal(price)
    values = {"open": p, "high": p + 1, "low": p - 1, "close": p + Decimal("0.5"), "volume": 1000.0, **fields}
    return PriceBar(
        symbol=symbol,
        interval=PriceInterval.DAY,
        trade_date=day,
        source="test",
        timestamp=datetime.combine(day, time(9, 30), NEW_YORK).astimezone(UTC),
        **values,
    )


@pytest_asyncio.fixture
async def bars(server_url):
    async with restored_market_data():
        rows = [day_bar("ZQA", d, str(100 + i)) for i, d in enumerate(DAYS)]
        # The newest day carries only its open: left out of stockPrices.
        rows.append(day_bar("ZQA", date(2025, 3, 10), "200", high=None, low=None, close=None, volume=None))
        rows.append(day_bar("ZQB", DAYS[0], "50"))
        rows += [
            PriceBar(
                symbol="ZQA",
                interval=PriceInterval.HOUR,
                trade_date=DAYS[0],
                source="test",
                timestamp=datetime.combine(DAYS[0], time(h), NEW_YORK).astimezone(UTC),
                open=Decimal(h),
                high=Decimal(h + 1),
                low=Decimal(h - 1),
                close=Decimal(h),
                volume=None,
            )
            for h in (10, 11, 12)
        ]
        await PriceBar.bulk_create(rows)
        yield


async def test_symbols_is_public_sorted_and_distinct(api, bars):
    symbols = (await api.data(SYMBOLS))["symbols"]
    assert symbols == sorted(set(symbols))
    assert {"ZQA", "ZQB"} <= set(symbols)


async def test_symbols_is_empty_without_prices(api, server_url):
    async with restored_market_data():
        await PriceBar.all().delete()
        assert (await api.data(SYMBOLS))["symbols"] == []


async def test_stock_prices_returns_complete_daily_bars_oldest_first(api, bars):
    result = (await api.data(PRICES, {"symbol": "ZQA"}))["stockPrices"]
    assert [r["timestamp"] for r in result] == [
        datetime.combine(d, time(9, 30), NEW_YORK).astimezone(UTC).isoformat() for d in DAYS
    ]
    assert result[0] == {
        "symbol": "ZQA",
        "timestamp": "2025-03-03T14:30:00+00:00",
        "open": 100.0,
        "high": 101.0,
        "low": 99.0,
        "close": 100.5,
        "volume": 1000.0,
    }
    assert (await api.data(PRICES_DEFAULT, {"symbol": "ZQA"}))["stockPrices"][-1]["close"] == 104.5


async def test_from_and_to_are_inclusive_trading_dates(api, bars):
    result = (await api.data(PRICES, {"symbol": "zqa", "from": "2025-03-04", "to": "2025-03-06"}))["stockPrices"]
    assert [r["open"] for r in result] == [101.0, 102.0, 103.0]
    only_from = (await api.data(PRICES, {"symbol": "ZQA", "from": "2025-03-07"}))["stockPrices"]
    assert [r["open"] for r in only_from] == [104.0]
    same_day = (await api.data(PRICES, {"symbol": "ZQA", "from": "2025-03-05", "to": "2025-03-05"}))["stockPrices"]
    assert len(same_day) == 1


async def test_hourly_bars_and_a_null_interval_means_daily(api, bars):
    hourly = (await api.data(PRICES, {"symbol": "ZQA", "interval": "HOUR"}))["stockPrices"]
    assert [r["timestamp"] for r in hourly] == [
        "2025-03-03T15:00:00+00:00",
        "2025-03-03T16:00:00+00:00",
        "2025-03-03T17:00:00+00:00",
    ]
    assert hourly[0]["volume"] is None
    assert len((await api.data(PRICES, {"symbol": "ZQA", "interval": None}))["stockPrices"]) == len(DAYS)
    assert (await api.data(PRICES, {"symbol": "ZQB", "interval": "MINUTE"}))["stockPrices"] == []


async def test_an_unknown_symbol_answers_an_empty_list(api, bars):
    assert (await api.data(PRICES, {"symbol": "NOPE"}))["stockPrices"] == []


@pytest.mark.parametrize(
    "variables",
    [
        {"symbol": ""},
        {"symbol": "not a ticker"},
        {"symbol": "$AAPL"},
        {"symbol": "TOOLONGSYMBOL"},
        {"symbol": "ZQA", "from": "2025-03-06", "to": "2025-03-04"},
        {"symbol": "ZQA", "from": "2025-02-30"},
        {"symbol": "ZQA", "interval": "WEEK"},
    ],
)
async def test_bad_input_is_bad_user_input(api, bars, variables):
    error = await api.error(PRICES, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_error_messages_name_the_problem(api, bars):
    assert "symbol" in (await api.error(PRICES, {"symbol": "$AAPL"}))["message"]
    assert "after" in (await api.error(PRICES, {"symbol": "ZQA", "from": "2025-03-06", "to": "2025-03-04"}))["message"]


async def test_a_range_with_too_many_bars_is_refused(api, bars, monkeypatch):
    monkeypatch.setattr(queries, "MAX_BARS", 3)
    error = await api.error(PRICES, {"symbol": "ZQA"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "more than 3" in error["message"] and "narrow" in error["message"]
    assert len((await api.data(PRICES, {"symbol": "ZQA", "from": "2025-03-05"}))["stockPrices"]) == 3


def test_a_fresh_server_starts_with_the_shipped_prices(tmp_path):
    with aibt_server(clean_env(AIBT_DATA_DIR=str(tmp_path / "d")), tmp_path) as url:

        def ask(query: str, variables: dict | None = None) -> dict:
            return httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30).json()

        assert {"AAPL", "FB", "GOOG", "IBM", "MSFT"} <= set(ask(SYMBOLS)["data"]["symbols"])
        aapl = ask(PRICES, {"symbol": "AAPL", "from": "2013-02-25", "to": "2013-03-01"})["data"]["stockPrices"]
        assert [b["timestamp"][:10] for b in aapl] == [
            "2013-02-25",
            "2013-02-26",
            "2013-02-27",
            "2013-02-28",
            "2013-03-01",
        ]
        assert aapl[-1]["close"] == 430.47
    log = next(tmp_path.glob("serve-*.log")).read_text()
    assert "shipped price bars" in log
    # A second start finds the data loaded and does not load it again.
    with aibt_server(clean_env(AIBT_DATA_DIR=str(tmp_path / "d")), tmp_path) as url:
        assert "AAPL" in httpx.post(f"{url}/graphql", json={"query": SYMBOLS}).json()["data"]["symbols"]


async def test_a_document_with_several_root_fields_answers_every_one(api, bars, user):
    document = """{ symbols a: stockPrices(symbol: "ZQA", from: "2025-03-01") { close }
      b: stockPrices(symbol: "ZQB", from: "2025-03-01", to: "2025-03-31") { close } me { id } models { totalCount } }"""
    data = await api.data(document, token=user.token)
    assert {"ZQA", "ZQB"} <= set(data["symbols"]) and len(data["a"]) == 5 and len(data["b"]) == 1
    assert data["me"]["id"] == user.id and data["models"]["totalCount"] == 0


# Splits and dividends: listed as stored, and adjusted prices with hindsight.

ACTIONS = """query($symbol: String!, $from: Date, $to: Date) {
  corporateActions(symbol: $symbol, from: $from, to: $to) { symbol exDate kind ratio amount source } }"""
ADJUSTED = """query($symbol: String!, $interval: PriceInterval, $adjusted: Boolean) {
  stockPrices(symbol: $symbol, interval: $interval, adjusted: $adjusted) { timestamp open high low close volume } }"""


@pytest_asyncio.fixture
async def bars_with_actions(bars):
    # A 1.015 dividend on DAYS[2]: the close before it is 101.50, so earlier prices take 1 - 1.015 / 101.5 = 0.99.
    # A 2-for-1 on DAYS[4]: earlier prices take 0.5 and earlier volumes 2.
    await store_actions(
        [
            Action.split("ZQA", DAYS[4], Decimal("2"), "test"),
            Action.dividend("ZQA", DAYS[2], Decimal("1.015"), "test"),
            Action.dividend("ZQB", DAYS[1], Decimal("0.5"), "test"),
        ]
    )
    yield


async def test_corporate_actions_lists_a_symbols_actions_by_ex_date_and_range(api, bars_with_actions):
    listed = (await api.data(ACTIONS, {"symbol": "zqa"}))["corporateActions"]
    assert listed == [
        {"symbol": "ZQA", "exDate": "2025-03-05", "kind": "DIVIDEND", "ratio": None, "amount": 1.015, "source": "test"},
        {"symbol": "ZQA", "exDate": "2025-03-07", "kind": "SPLIT", "ratio": 2.0, "amount": None, "source": "test"},
    ]
    ranged = await api.data(ACTIONS, {"symbol": "ZQA", "from": "2025-03-06", "to": "2025-03-07"})
    assert ranged["corporateActions"] == listed[1:]
    assert (await api.data(ACTIONS, {"symbol": "NOPE"}))["corporateActions"] == []
    error = await api.error(ACTIONS, {"symbol": "ZQA", "from": "2025-03-07", "to": "2025-03-06"})
    assert error["extensions"] == {**error["extensions"], "code": "BAD_USER_INPUT", "field": "from"}
    assert (await api.error(ACTIONS, {"symbol": "not a symbol"}))["extensions"]["code"] == "BAD_USER_INPUT"


async def test_adjusted_prices_scale_every_bar_before_each_ex_date_and_leave_the_latest_as_traded(
    api, bars_with_actions
):
    adjusted = (await api.data(ADJUSTED, {"symbol": "ZQA", "adjusted": True}))["stockPrices"]
    traded = (await api.data(ADJUSTED, {"symbol": "ZQA"}))["stockPrices"]
    assert traded == (await api.data(ADJUSTED, {"symbol": "ZQA", "adjusted": False}))["stockPrices"]
    factors = [Decimal("0.495"), Decimal("0.495"), Decimal("0.5"), Decimal("0.5"), Decimal(1)]  # 0.99 x 0.5
    volumes = [2000.0, 2000.0, 2000.0, 2000.0, 1000.0]
    for bar, raw, factor, volume in zip(adjusted, traded, factors, volumes, strict=True):
        for key in ("open", "high", "low", "close"):
            assert bar[key] == float(Decimal(str(raw[key])) * factor), key
        assert (bar["timestamp"], bar["volume"]) == (raw["timestamp"], volume)
    assert adjusted[0]["close"] == 49.7475  # 100.50 x 0.495
    hourly = (await api.data(ADJUSTED, {"symbol": "ZQA", "interval": "HOUR", "adjusted": True}))["stockPrices"]
    assert [b["close"] for b in hourly] == [float(Decimal(h) * Decimal("0.495")) for h in (10, 11, 12)]


async def test_a_document_with_actions_and_adjusted_and_traded_prices_answers_every_one(api, bars_with_actions, user):
    document = """{ a: corporateActions(symbol: "ZQA") { kind } b: corporateActions(symbol: "ZQB") { amount }
      traded: stockPrices(symbol: "ZQA", from: "2025-03-01") { close }
      adjusted: stockPrices(symbol: "ZQA", from: "2025-03-01", adjusted: true) { close }
      me { id } }"""
    data = await api.data(document, token=user.token)
    assert [a["kind"] for a in data["a"]] == ["DIVIDEND", "SPLIT"] and data["b"] == [{"amount": 0.5}]
    assert data["adjusted"][0]["close"] == 49.7475 and data["traded"][0]["close"] == 100.5
    assert data["adjusted"][-1] == data["traded"][-1] and data["me"]["id"] == user.id


def package_series(symbol: str) -> list[tuple[date, float, float]]:
    """(day, close, adjusted close) of one symbol, as the package ships them."""
    with gzip.open(bokeh_stocks_path(), "rt", encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Ticker"] == symbol]
    return sorted((date.fromisoformat(r["Date"]), float(r["Close"]), float(r["Adj Close"])) for r in rows)


async def test_adjusted_shipped_prices_reproduce_the_packages_adj_close_up_to_its_later_actions(api, server_url):
    async with restored_market_data():
        await seed_shipped_prices()
        for symbol in ("AAPL", "MSFT"):
            adjusted = (await api.data(ADJUSTED, {"symbol": symbol, "adjusted": True}))["stockPrices"]
            package = package_series(symbol)
            assert len(adjusted) == len(package) > 3000
            # Each derived dividend is rounded to the cent: up to half a cent against the close before its ex-date,
            # for every bar before it.
            closes = {day: close for day, close, _ in package}
            rounding = {
                a.ex_date: 0.005 / closes[max(d for d in closes if d < a.ex_date)]
                for a in read_bokeh_actions(bokeh_stocks_path())
                if a.symbol == symbol and a.amount is not None
            }
            # The package's adjustment includes actions after its last day (AAPL's 7-for-1 of 2014, ...): a constant.
            later = adjusted[-1]["close"] / package[-1][2]
            for bar, (day, _, adj_close) in zip(adjusted, package, strict=True):
                bound = sum(r for ex_date, r in rounding.items() if ex_date > day) + 1e-6
                assert abs(bar["close"] / adj_close / later - 1) <= bound, (symbol, day)
