"""The real prices a fresh installation starts with, read from files that installed packages ship.

- Daily: bokeh-sampledata's stocks.csv.gz (a required dependency): AAPL, IBM, MSFT 2000-03-01..2013-03-01,
  GOOG 2004-08-19.., FB 2012-05-18.. (Quandl WIKI prices, public domain; the package is BSD-3-Clause).
  Its open, high, low, close and volume are the unadjusted prices as traded; its "Adj Close" column
  (split- and dividend-adjusted) is not loaded as prices: the splits and dividends it encodes are derived
  from it (db_models/corporate_actions.py) and stored as corporate actions (AAPL's 2-for-1 splits of 2000
  and 2005, MSFT's of 2003, their dividends ...).
- Hourly: gym-anytrading's FOREX_EURUSD_1H_ASK.csv (the optional `intraday-sample` extra, MIT): EUR/USD
  ask-side hourly bars of 2017, labelled in UTC, stored under the symbol EURUSD with timezone UTC. Not a
  stock, but real hourly prices; without the package no intraday bars are shipped.

Each source loads in one transaction under its own source label and is skipped once that label is
present, so later starts cost one existence check per source. Shipped bars never replace bars
already stored (imported data wins).
"""

from __future__ import annotations

import csv
import gzip
import importlib.metadata
import importlib.util
import logging
import time as clock
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from db_models.corporate_actions import Action, AdjustedClose, derive_actions, store_actions
from db_models.market import EXCHANGE_TZ, CorporateAction, PriceBar, PriceInterval
from db_models.price_bars import Bar, make_bar
from db_models.price_import import write_bars

logger = logging.getLogger("aibt.prices")

BOKEH_SOURCE = "bokeh-sampledata stocks.csv.gz (public domain)"
BOKEH_ACTIONS_SOURCE = "bokeh-sampledata stocks.csv.gz, derived from Adj Close"
EURUSD_SOURCE = "gym-anytrading FOREX_EURUSD_1H_ASK.csv (MIT)"
NO_INTRADAY_MESSAGE = (
    "No intraday bars are shipped with this installation: install the optional extra "
    "(pip install 'aibt[intraday-sample]') for real EUR/USD hourly bars of 2017, "
    "or import your own with `aibt data import FILE`."
)


@dataclass(frozen=True)
class ShippedSource:
    label: str
    description: str
    locate: Callable[[], Path | None]
    read: Callable[[Path], Iterator[Bar]]
    actions_label: str | None = None  # the source label of the splits and dividends it brings, if any
    read_actions: Callable[[Path], list[Action]] | None = None


@dataclass(frozen=True)
class SeedOutcome:
    label: str
    description: str
    status: str  # "loaded", "already loaded", "unavailable"
    bars: int = 0
    seconds: float = 0.0
    message: str = ""
    actions: int = 0


def _package_file(distribution: str, module: str, relative: str) -> Path | None:
    """A data file inside an installed package, found without importing the package."""
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    return None


def bokeh_stocks_path() -> Path | None:
    return _package_file("bokeh_sampledata", "bokeh_sampledata", "_data/stocks.csv.gz")


def eurusd_hourly_path() -> Path | None:
    return _package_file("gym-anytrading", "gym_anytrading", "datasets/data/FOREX_EURUSD_1H_ASK.csv")


def read_bokeh_stocks(path: Path) -> Iterator[Bar]:
    """Ticker,Date,Open,High,Low,Close,Volume,Adj Close: unadjusted OHLCV are loaded, Adj Close is not."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield make_bar(
                row["Ticker"],
                PriceInterval.DAY,
                datetime.strptime(row["Date"], "%Y-%m-%d").date(),
                EXCHANGE_TZ,
                open=row["Open"],
                high=row["High"],
                low=row["Low"],
                close=row["Close"],
                volume=row["Volume"],
                source=BOKEH_SOURCE,
            )


def read_bokeh_actions(path: Path) -> list[Action]:
    """The splits and dividends behind the file's Adj Close column, per ticker."""
    by_ticker: dict[str, list[AdjustedClose]] = {}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            day = datetime.strptime(row["Date"], "%Y-%m-%d").date()
            by_ticker.setdefault(row["Ticker"], []).append(
                AdjustedClose(day, float(row["Close"]), float(row["Adj Close"]))
            )
    return [
        action
        for ticker, days in sorted(by_ticker.items())
        for action in derive_actions(ticker, days, BOKEH_ACTIONS_SOURCE)
    ]


def read_eurusd_hourly(path: Path) -> Iterator[Bar]:
    """Time (dd.mm.yyyy HH:MM:SS.fff, UTC),Open,High,Low,Close,Volume."""
    zone = ZoneInfo("UTC")
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield make_bar(
                "EURUSD",
                PriceInterval.HOUR,
                datetime.strptime(row["Time"], "%d.%m.%Y %H:%M:%S.%f"),
                zone,
                open=row["Open"],
                high=row["High"],
                low=row["Low"],
                close=row["Close"],
                volume=row["Volume"],
                source=EURUSD_SOURCE,
            )


SHIPPED_SOURCES = (
    ShippedSource(
        BOKEH_SOURCE,
        "daily AAPL, FB, GOOG, IBM, MSFT 2000-2013",
        bokeh_stocks_path,
        read_bokeh_stocks,
        actions_label=BOKEH_ACTIONS_SOURCE,
        read_actions=read_bokeh_actions,
    ),
    ShippedSource(EURUSD_SOURCE, "hourly EURUSD 2017", eurusd_hourly_path, read_eurusd_hourly),
)


async def _needs_actions(source: ShippedSource, force: bool) -> bool:
    if source.read_actions is None:
        return False
    return force or not await CorporateAction.filter(source=source.actions_label).exists()


async def seed_source(source: ShippedSource, *, force: bool = False) -> SeedOutcome:
    needs_bars = force or not await PriceBar.filter(source=source.label).exists()
    needs_actions = await _needs_actions(source, force)  # an install seeded before actions were derived gets them
    if not needs_bars and not needs_actions:
        return SeedOutcome(source.label, source.description, "already loaded")
    path = source.locate()
    if path is None:
        message = NO_INTRADAY_MESSAGE if source.label == EURUSD_SOURCE else f"{source.label}: package not installed"
        return SeedOutcome(source.label, source.description, "unavailable", message=message)
    started = clock.perf_counter()
    inserted = (await write_bars(list(source.read(path)), overwrite=False)).inserted if needs_bars else 0
    actions = await store_actions(source.read_actions(path), overwrite=False) if needs_actions else 0
    return SeedOutcome(
        source.label,
        source.description,
        "loaded",
        bars=inserted,
        seconds=clock.perf_counter() - started,
        actions=actions,
    )


async def seed_shipped_prices(*, force: bool = False) -> list[SeedOutcome]:
    """Loads every shipped price source not loaded yet; quick when all are (one existence check each)."""
    outcomes = []
    for source in SHIPPED_SOURCES:
        outcome = await seed_source(source, force=force)
        if outcome.status == "loaded":
            logger.info(
                "loaded %d shipped price bars and %d splits and dividends (%s) in %.2f s",
                outcome.bars,
                outcome.actions,
                outcome.description,
                outcome.seconds,
            )
        elif outcome.status == "unavailable":
            logger.info(outcome.message)
        outcomes.append(outcome)
    return outcomes
