"""Importing price files (`aibt data import`) and loading the shipped data (`aibt data seed`)."""

from __future__ import annotations

import csv
import gzip
import json
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio

from db_models.market import CorporateAction, PriceBar, PriceInterval
from db_models.price_files import PriceImportError, parse_file
from db_models.price_import import import_files
from db_models.price_seed import BOKEH_SOURCE, EURUSD_SOURCE, bokeh_stocks_path, eurusd_hourly_path, seed_shipped_prices
from tests.support.price_state import restored_market_data
from tests.support.processes import clean_env, run_aibt

# Real NASDAQ-100 bars of 2025 in the Alpha Vantage JSON Lines form, daily and hourly (tests/data/prices/README.md).
PRICE_FILES = sorted((Path(__file__).resolve().parent / "data" / "prices").glob("*.jsonl"))
HOURLY = next(f for f in PRICE_FILES if "hourly" in f.name)
# (symbols, bars) of each file, counted once by hand from the files: the importer and file_counts must agree.
EXTRACT_SIZES = {
    "nasdaq100-daily-2025-01-02_2025-06-27.jsonl": (6, 6 * 121),
    "nasdaq100-daily-2025-06-10_2025-10-30.jsonl": (5, 5 * 100),
    "nasdaq100-hourly-2025-10-01_2025-11-10.jsonl": (5, 5 * 174),
}
CSV_HEADER = "symbol,timestamp,open,high,low,close,volume\n"


@pytest_asyncio.fixture
async def prices(server_url):
    """The test may write price bars; afterwards the table is as it was."""
    async with restored_market_data():
        yield


def file_counts(path: Path) -> tuple[set[str], int, set[tuple[str, str, str]]]:
    """(symbols, bars, keys) of an Alpha Vantage-style file, counted straight from its JSON."""
    symbols, keys = set(), set()
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        symbol = record["Meta Data"]["2. Symbol"]
        symbols.add(symbol)
        (series_name,) = [k for k in record if k.startswith("Time Series")]
        keys.update((symbol, series_name, stamp) for stamp in record[series_name])
    return symbols, len(keys), keys


async def stored(source: str) -> tuple[set[str], int]:
    rows = PriceBar.filter(source=source)
    return set(await rows.distinct().values_list("symbol", flat=True)), await rows.count()


# ------------------------------------------------------------------------------------- Alpha Vantage files


@pytest.mark.parametrize("path", PRICE_FILES, ids=lambda p: p.name)
async def test_each_file_imports_all_its_symbols_and_bars_and_reimporting_changes_nothing(prices, path):
    symbols, bars, _ = file_counts(path)
    assert (len(symbols), bars) == EXTRACT_SIZES[path.name]
    await PriceBar.all().delete()
    result = await import_files([path])
    assert (result.bars, result.symbols, result.inserted) == (bars, len(symbols), bars)
    assert await stored(f"import: {path.name}") == (symbols, bars)
    assert await PriceBar.all().count() == bars

    again = await import_files([path])
    assert (again.inserted, again.updated) == (0, bars)
    assert await stored(f"import: {path.name}") == (symbols, bars)
    assert await PriceBar.all().count() == bars


async def test_all_files_together_hold_each_distinct_bar_once(prices):
    keys = set().union(*(file_counts(p)[2] for p in PRICE_FILES))
    symbols = set().union(*(file_counts(p)[0] for p in PRICE_FILES))
    # 726 + 500 + 870 bars, less the 13 days (2025-06-10..27) x 5 symbols both daily files hold; QQQ is daily only.
    assert (len(keys), symbols) == (2031, {"AAPL", "AMZN", "GOOGL", "MSFT", "NVDA", "QQQ"})
    await PriceBar.all().delete()
    await import_files(PRICE_FILES)
    await import_files(list(reversed(PRICE_FILES)))
    assert await PriceBar.all().count() == len(keys)
    assert set(await PriceBar.all().distinct().values_list("symbol", flat=True)) == symbols
    # The newest daily bar of the later file carries only its open; the hourly file's too.
    daily = await PriceBar.get(symbol="AAPL", interval=PriceInterval.DAY, trade_date=date(2025, 10, 30))
    assert (daily.open, daily.high, daily.low, daily.close) == (Decimal("271.99"), None, None, None)
    # A day both daily files hold: complete in both; importing the older file last did not blank it.
    overlap = await PriceBar.get(symbol="AAPL", interval=PriceInterval.DAY, trade_date=date(2025, 6, 27))
    assert overlap.close is not None and overlap.high is not None


async def test_timestamps_follow_the_conventions(prices):
    await PriceBar.all().delete()
    await import_files(PRICE_FILES)
    # Daily: 09:30 New York on the trade date (EST in January: 14:30 UTC; EDT in June: 13:30 UTC).
    january = await PriceBar.get(symbol="AAPL", interval=PriceInterval.DAY, trade_date=date(2025, 1, 2))
    assert january.timestamp == datetime(2025, 1, 2, 14, 30, tzinfo=UTC)
    assert (january.timezone, january.open, january.close) == (
        "America/New_York",
        Decimal("248.0494"),
        Decimal("242.9874"),
    )
    assert january.volume == 55740700
    june = await PriceBar.get(symbol="AAPL", interval=PriceInterval.DAY, trade_date=date(2025, 6, 2))
    assert june.timestamp == datetime(2025, 6, 2, 13, 30, tzinfo=UTC)
    # Hourly: the source's label read in New York time; across the end of daylight saving time (Nov 2).
    before = await PriceBar.get(
        symbol="AAPL", interval=PriceInterval.HOUR, timestamp=datetime(2025, 10, 30, 19, tzinfo=UTC)
    )
    assert (before.trade_date, before.open) == (date(2025, 10, 30), Decimal("271.0884"))
    after = (
        await PriceBar.filter(symbol="AAPL", interval=PriceInterval.HOUR, trade_date=date(2025, 11, 3))
        .order_by("timestamp")
        .first()
    )
    assert after.timestamp == datetime(2025, 11, 3, 15, 0, tzinfo=UTC)  # 10:00 EST


@pytest.mark.parametrize(
    ("line", "damage", "reason"),
    [
        (4, lambda text: text[: len(text) // 2], "not valid JSON"),
        (1, lambda text: text.replace('"1. buy price": "', '"1. buy price": "-', 1), "open must be > 0"),
        (3, lambda text: text.replace('"2. high": "', '"2. high": "0.0', 1), "high"),
        (5, lambda text: text.replace('"2025-10-01 10:00:00"', '"2025-13-01 10:00:00"', 1), "timestamp"),
        (2, lambda text: text.replace("Time Series (60min)", "Time Series (7min)", 1), "unknown interval"),
        (3, lambda text: text.replace('"2. Symbol": "', '"2. Symbol": "$', 1), "ticker symbol"),
    ],
)
async def test_a_malformed_line_fails_naming_it_and_writes_nothing(prices, tmp_path, line, damage, reason):
    lines = HOURLY.read_text().splitlines(keepends=True)
    damaged = damage(lines[line - 1].rstrip("\n")) + "\n"
    assert damaged != lines[line - 1]
    bad = tmp_path / "damaged.jsonl"
    bad.write_text("".join(lines[: line - 1]) + damaged + "".join(lines[line:]))
    good = next(f for f in PRICE_FILES if f != HOURLY)
    before = await PriceBar.all().order_by("id").values()

    with pytest.raises(PriceImportError) as caught:
        await import_files([good, bad])  # the good file comes first and is not written either
    assert caught.value.line == line
    assert f"{bad}, line {line}:" in str(caught.value) and reason in str(caught.value)
    assert await PriceBar.all().order_by("id").values() == before


async def test_hourly_import_speed(prices, capsys):
    await PriceBar.all().delete()
    started = time.perf_counter()
    result = await import_files([HOURLY])
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\n[price import] {HOURLY.name}: {result.bars} bars in {seconds:.2f} s "
            f"= {result.bars / seconds:,.0f} bars/s"
        )
    assert result.bars / seconds > 1_000


# ------------------------------------------------------------------------------------- CSV


def write_csv(tmp_path: Path, body: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(CSV_HEADER + body)
    return path


async def test_csv_daily_bars_are_inferred_and_upserted(prices, tmp_path):
    path = write_csv(
        tmp_path, "zzda,2024-03-01,10,11,9.5,10.5,1000\nZZDA,2024-03-04,10.5,10.75,10,10.25,\nZZDB,2024-03-04,20,,,,\n"
    )
    result = await import_files([path])
    assert (result.bars, result.symbols, result.inserted) == (3, 2, 3)
    rows = (
        await PriceBar.filter(source="import: bars.csv")
        .order_by("symbol", "timestamp")
        .values("symbol", "interval", "timestamp", "trade_date", "open", "high", "low", "close", "volume")
    )
    assert [(r["symbol"], r["interval"], r["trade_date"], r["close"], r["volume"]) for r in rows] == [
        ("ZZDA", PriceInterval.DAY, date(2024, 3, 1), Decimal("10.5"), 1000.0),
        ("ZZDA", PriceInterval.DAY, date(2024, 3, 4), Decimal("10.25"), None),
        ("ZZDB", PriceInterval.DAY, date(2024, 3, 4), None, None),
    ]
    assert rows[0]["timestamp"] == datetime(2024, 3, 1, 14, 30, tzinfo=UTC)

    # Re-import with a changed value updates in place; an open-only bar never blanks a complete one.
    path.write_text(CSV_HEADER + "ZZDA,2024-03-01,10,12,9.5,11,1000\nZZDA,2024-03-04,10.5,,,,\n")
    again = await import_files([path])
    assert (again.inserted, again.updated, again.kept) == (0, 1, 1)
    assert await PriceBar.filter(source="import: bars.csv").count() == 3
    first, second = await PriceBar.filter(symbol="ZZDA").order_by("timestamp")
    assert (first.high, first.close) == (Decimal("12"), Decimal("11"))
    assert second.close == Decimal("10.25")


async def test_csv_intraday_bars(prices, tmp_path):
    hourly = write_csv(
        tmp_path, "ZZHA,2024-07-01 10:00,5,5.5,4.9,5.2,10\nZZHA,2024-07-01 11:00:00,5.2,5.3,5.1,5.25,11\n"
    )
    minute = write_csv(
        tmp_path, "ZZMA,2024-07-01T14:30:00Z,5,5,5,5,1\nZZMA,2024-07-01T14:31:00Z,5,5.1,5,5.1,2\n", "m.csv"
    )
    await import_files([hourly, minute])
    first_hour = await PriceBar.get(symbol="ZZHA", timestamp=datetime(2024, 7, 1, 14, tzinfo=UTC))
    assert (first_hour.interval, first_hour.trade_date) == (PriceInterval.HOUR, date(2024, 7, 1))
    first_minute = await PriceBar.get(symbol="ZZMA", timestamp=datetime(2024, 7, 1, 14, 30, tzinfo=UTC))
    assert (first_minute.interval, first_minute.timezone) == (PriceInterval.MINUTE, "America/New_York")


async def test_csv_needs_interval_when_it_cannot_be_inferred(prices, tmp_path):
    path = write_csv(tmp_path, "ZZIA,2024-07-01 10:00,5,5.5,4.9,5.2,10\n")
    with pytest.raises(PriceImportError, match="--interval"):
        parse_file(path)
    assert len(parse_file(path, interval="hour").bars) == 1


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ("ZZBA,2024-03-01,10,11,9,10.5,1\nZZBA,2024-03-04,0,11,9,10,1\n", 3, "open must be > 0"),
        ("ZZBA,2024-03-01,10,10.2,9,10.5,1\n", 2, "high 10.2 is below max(open, close) 10.5"),
        ("ZZBA,2024-03-01,10,11,10.1,10.5,1\n", 2, "low 10.1 is above min(open, close) 10"),
        ("ZZBA,2024-03-01,10,11,9,10.5,1\nZZBA,yesterday,10,11,9,10.5,1\n", 3, "timestamp"),
        ("ZZBA,2024-03-01,ten,11,9,10.5,1\n", 2, "not a number"),
        ("ZZBA,2024-03-01,10,11,9\n", 2, "expected 7 fields"),
        ("ZZBA,2024-03-01,10,11,9,10.5,-4\n", 2, "volume"),
    ],
)
async def test_csv_rules(prices, tmp_path, body, line, reason):
    path = write_csv(tmp_path, body)
    before = await PriceBar.all().count()
    with pytest.raises(PriceImportError) as caught:
        await import_files([path])
    assert caught.value.line == line and reason in caught.value.reason
    assert await PriceBar.all().count() == before


def test_unknown_interval_and_format_are_refused(tmp_path):
    path = write_csv(tmp_path, "ZZBA,2024-03-01,10,11,9,10.5,1\n")
    with pytest.raises(PriceImportError, match="unknown interval 'WEEK'"):
        parse_file(path, interval="WEEK")
    other = tmp_path / "bars.xlsx"
    other.write_text("x")
    with pytest.raises(PriceImportError, match="unknown format"):
        parse_file(other)
    bad_header = tmp_path / "h.csv"
    bad_header.write_text("ticker,date,open\nA,2024-01-01,1\n")
    with pytest.raises(PriceImportError, match="line 1: the header lacks symbol, timestamp"):
        parse_file(bad_header)


# ------------------------------------------------------------------------------------- splits and dividends


def adjusted_day(open_: str, close: str, dividend: str = "0.0000", split: str = "1.0") -> dict[str, str]:
    return {
        "1. open": open_,
        "2. high": str(max(Decimal(open_), Decimal(close)) + 1),
        "3. low": str(min(Decimal(open_), Decimal(close)) - 1),
        "4. close": close,
        "5. adjusted close": "1.2345",
        "6. volume": "5000",
        "7. dividend amount": dividend,
        "8. split coefficient": split,
    }


async def test_an_alpha_vantage_adjusted_file_brings_its_splits_and_dividends(prices, tmp_path):
    record = {
        "Meta Data": {"1. Information": "Daily Time Series with Splits and Dividend Events", "2. Symbol": "ZZAV"},
        "Time Series (Daily)": {
            "2024-08-30": adjusted_day("229.00", "228.00"),
            "2024-09-03": adjusted_day("228.50", "226.00", dividend="0.2400"),
            "2024-09-04": adjusted_day("56.60", "57.00", split="4.0"),
            "2024-09-05": adjusted_day("57.10", "57.50"),
        },
    }
    path = tmp_path / "av.jsonl"
    path.write_text(json.dumps(record) + "\n")
    result = await import_files([path])
    assert (result.bars, result.actions) == (4, 2)
    bars = await PriceBar.filter(symbol="ZZAV").order_by("timestamp").values_list("close", "volume")
    assert bars[0] == (Decimal("228"), 5000.0)  # "6. volume"; the adjusted close is not loaded
    assert await stored_actions("ZZAV") == [
        (date(2024, 9, 3), "DIVIDEND", None, Decimal("0.24"), "import: av.jsonl"),
        (date(2024, 9, 4), "SPLIT", Decimal("4"), None, "import: av.jsonl"),
    ]
    again = await import_files([path])
    assert again.actions == 2 and await CorporateAction.filter(symbol="ZZAV").count() == 2


async def test_csv_dividend_and_split_columns_state_actions_on_the_rows_dates(prices, tmp_path):
    path = tmp_path / "actions.csv"
    path.write_text(
        "symbol,timestamp,open,high,low,close,volume,dividend,split\n"
        "ZZCX,2024-03-01,10,11,9.5,10.5,1000,,\n"
        "ZZCX,2024-03-04,10.5,10.75,10,10.25,,0.50,1\n"
        "ZZCX,2024-03-05,7,7.5,6.5,7,,0,3:2\n"
        "ZZCY,2024-03-05,2,2.5,1.5,2,,,0.1\n"
    )
    parsed = parse_file(path)
    assert len(parsed.actions) == 3
    result = await import_files([path])
    assert (result.bars, result.actions) == (4, 3)
    assert await stored_actions("ZZCX") + await stored_actions("ZZCY") == [
        (date(2024, 3, 4), "DIVIDEND", None, Decimal("0.5"), "import: actions.csv"),
        (date(2024, 3, 5), "SPLIT", Decimal("1.5"), None, "import: actions.csv"),
        (date(2024, 3, 5), "SPLIT", Decimal("0.1"), None, "import: actions.csv"),
    ]


async def test_intraday_rows_may_repeat_their_days_dividend(prices, tmp_path):
    path = tmp_path / "hours.csv"
    path.write_text(
        "symbol,timestamp,open,high,low,close,volume,dividend\n"
        "ZZHD,2024-07-01 10:00,5,5.5,4.9,5.2,10,0.12\n"
        "ZZHD,2024-07-01 11:00,5.2,5.3,5.1,5.25,11,0.12\n"
    )
    assert (await import_files([path])).actions == 1
    assert await stored_actions("ZZHD") == [(date(2024, 7, 1), "DIVIDEND", None, Decimal("0.12"), "import: hours.csv")]


@pytest.mark.parametrize(
    ("rows", "line", "reason"),
    [
        ("ZZBX,2024-03-01,10,11,9,10.5,1,-0.5,\n", 2, "dividend must be >= 0"),
        ("ZZBX,2024-03-01,10,11,9,10.5,1,abc,\n", 2, "dividend 'abc' is not a number"),
        ("ZZBX,2024-03-01,10,11,9,10.5,1,,0\n", 2, "split '0' must be above zero"),
        ("ZZBX,2024-03-01,10,11,9,10.5,1,,2:0\n", 2, "must be N:M"),
        ("ZZBX,2024-03-01,10,11,9,10.5,1,,two\n", 2, "split 'two' is not a number"),
        (
            "ZZBX,2024-03-01 10:00,10,11,9,10.5,1,0.1,\nZZBX,2024-03-01 11:00,10,11,9,10.5,1,0.2,\n",
            3,
            "a second dividend with another value",
        ),
    ],
)
async def test_bad_action_columns_fail_naming_the_line_and_write_nothing(prices, tmp_path, rows, line, reason):
    path = tmp_path / "bad.csv"
    path.write_text("symbol,timestamp,open,high,low,close,volume,dividend,split\n" + rows)
    before = (await PriceBar.all().count(), await CorporateAction.all().count())
    with pytest.raises(PriceImportError) as caught:
        await import_files([path], interval="HOUR" if "10:00" in rows else None)
    assert caught.value.line == line and reason in caught.value.reason
    assert (await PriceBar.all().count(), await CorporateAction.all().count()) == before


async def stored_actions(symbol: str) -> list[tuple]:
    rows = await CorporateAction.filter(symbol=symbol).order_by("ex_date", "kind")
    return [(r.ex_date, str(r.kind), r.ratio, r.amount, r.source) for r in rows]


# ------------------------------------------------------------------------------------- shipped data


def bokeh_rows() -> list[dict[str, str]]:
    with gzip.open(bokeh_stocks_path(), "rt", newline="") as handle:
        return list(csv.DictReader(handle))


async def test_the_shipped_data_loads_once_with_its_source_label(prices, capsys):
    rows = bokeh_rows()
    await PriceBar.all().delete()
    started = time.perf_counter()
    outcomes = {o.label: o for o in await seed_shipped_prices()}
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\n[shipped prices] first load {seconds:.2f} s: "
            + ", ".join(f"{o.bars} bars {o.description}" for o in outcomes.values())
        )

    assert outcomes[BOKEH_SOURCE].status == "loaded" and outcomes[BOKEH_SOURCE].bars == len(rows)
    symbols, count = await stored(BOKEH_SOURCE)
    assert symbols == {r["Ticker"] for r in rows} == {"AAPL", "FB", "GOOG", "IBM", "MSFT"}
    assert count == len(rows)
    for ticker in symbols:
        assert await PriceBar.filter(source=BOKEH_SOURCE, symbol=ticker).count() == sum(
            r["Ticker"] == ticker for r in rows
        )
    # Unadjusted prices as traded, not the adjusted close.
    first = await PriceBar.get(symbol="AAPL", interval=PriceInterval.DAY, trade_date=date(2000, 3, 1))
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        Decimal("118.56"),
        Decimal("132.06"),
        Decimal("118.5"),
        Decimal("130.31"),
        9616100.0,
    )
    assert first.timestamp == datetime(2000, 3, 1, 14, 30, tzinfo=UTC)

    if eurusd_hourly_path() is not None:
        assert outcomes[EURUSD_SOURCE].status == "loaded"
        bar = await PriceBar.get(symbol="EURUSD", timestamp=datetime(2017, 1, 2, 0, tzinfo=UTC))
        assert (bar.interval, bar.timezone, bar.trade_date, bar.open) == (
            PriceInterval.HOUR,
            "UTC",
            date(2017, 1, 2),
            Decimal("1.05283"),
        )
        assert await PriceBar.filter(source=EURUSD_SOURCE).count() == outcomes[EURUSD_SOURCE].bars == 6225
    else:
        assert outcomes[EURUSD_SOURCE].status == "unavailable" and "aibt data import" in outcomes[EURUSD_SOURCE].message

    total = await PriceBar.all().count()
    started = time.perf_counter()
    assert {o.status for o in await seed_shipped_prices()} <= {"already loaded", "unavailable"}
    assert time.perf_counter() - started < 1
    assert await PriceBar.all().count() == total


async def test_shipped_data_never_replaces_stored_bars(prices):
    await PriceBar.all().delete()
    mine = await PriceBar.create(
        symbol="AAPL",
        interval=PriceInterval.DAY,
        timestamp=datetime(2000, 3, 1, 14, 30, tzinfo=UTC),
        trade_date=date(2000, 3, 1),
        open=Decimal("1"),
        close=Decimal("2"),
        high=Decimal("2"),
        low=Decimal("1"),
        source="import: mine.csv",
    )
    await seed_shipped_prices()
    assert (await PriceBar.get(id=mine.id)).source == "import: mine.csv"


# ------------------------------------------------------------------------------------- the command line


def test_aibt_data_import_and_seed_from_the_command_line(tmp_path):
    env = clean_env(AIBT_DATA_DIR=str(tmp_path / "d"))
    good = write_csv(tmp_path, "ZZCA,2024-03-01,10,11,9.5,10.5,1000\nZZCA,2024-03-04,10.5,10.75,10,10.25,900\n")
    result = run_aibt("data", "import", str(good), "--no-progress", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Imported 2 bars of 1 symbols from 1 file(s): 2 new, 0 updated" in result.stdout
    again = run_aibt("data", "import", str(good), env=env, cwd=tmp_path)
    assert again.returncode == 0 and "0 new, 2 updated" in again.stdout

    bad = write_csv(tmp_path, "ZZCB,2024-03-01,10,11,9.5,10.5,1000\nZZCB,2024-03-04,10.5,9,10,10.25,900\n", "bad.csv")
    failed = run_aibt("data", "import", str(bad), env=env, cwd=tmp_path)
    assert failed.returncode != 0
    assert f"{bad}, line 3: high 9 is below" in failed.stderr and "nothing was imported" in failed.stderr

    needs_interval = write_csv(tmp_path, "ZZCC,2024-03-01 10:00,10,11,9.5,10.5,1000\n", "one.csv")
    refused = run_aibt("data", "import", str(needs_interval), env=env, cwd=tmp_path)
    assert refused.returncode != 0 and "--interval" in refused.stderr
    accepted = run_aibt("data", "import", str(needs_interval), "--interval", "hour", env=env, cwd=tmp_path)
    assert accepted.returncode == 0, accepted.stderr

    seeded = run_aibt("data", "seed", env=env, cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    assert f"Loaded {len(bokeh_rows()):,} bars" in seeded.stdout
    reseeded = run_aibt("data", "seed", env=env, cwd=tmp_path)
    assert reseeded.returncode == 0 and "Already loaded" in reseeded.stdout and "Loaded" not in reseeded.stdout
