"""Price-data operations for the command line: import files, fetch from Alpha Vantage, load the shipped data."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tortoise import Tortoise
from tqdm import tqdm

from db_models.config import apply_migrations, tortoise_config
from db_models.market import EXCHANGE_TIMEZONE
from db_models.price_fetch.client import ClientConfig
from db_models.price_fetch.planner import FetchRequest
from db_models.price_fetch.results import FetchReport, SymbolResult
from db_models.price_fetch.runner import FetchObserver, fetch_prices
from db_models.price_files import ParsedFile
from db_models.price_import import WriteResult, import_files
from db_models.price_seed import SeedOutcome, seed_shipped_prices
from db_models.settings import Settings


async def _open(settings: Settings) -> None:
    if settings.is_embedded:
        await apply_migrations(settings.database_url)
    await Tortoise.init(config=tortoise_config(settings.database_url))


async def import_price_files(
    settings: Settings,
    paths: Sequence[Path],
    *,
    interval: str | None = None,
    timezone: str = EXCHANGE_TIMEZONE,
    echo: Callable[[str], None] = print,
    show_progress: bool = True,
) -> WriteResult:
    """Validates every file, then writes all their bars in one transaction; raises PriceImportError."""
    bar: tqdm | None = None
    total_files: list[ParsedFile] = []

    def parsed(files: list[ParsedFile]) -> None:
        nonlocal bar
        total_files.extend(files)
        for f in files:
            stated = f", {len(f.actions):,} splits and dividends" if f.actions else ""
            echo(f"{f.path}: {len(f.bars):,} bars of {len(f.symbols):,} symbols{stated}, valid.")
        distinct = len({b.key for f in files for b in f.bars})  # a bar in two files is written once
        bar = tqdm(total=distinct, unit="bar", unit_scale=True, desc="writing", disable=not show_progress)

    await _open(settings)
    started = time.perf_counter()
    try:
        result = await import_files(
            paths,
            interval=interval,
            timezone=timezone,
            progress=lambda n: bar.update(n) if bar else None,
            on_parsed=parsed,
        )
    finally:
        if bar is not None:
            bar.close()
        await Tortoise.close_connections()
    seconds = time.perf_counter() - started
    kept = f", {result.kept:,} open-only bars kept as stored complete bars" if result.kept else ""
    kept += f"; {result.actions:,} splits and dividends" if result.actions else ""
    echo(
        f"Imported {result.bars:,} bars of {result.symbols:,} symbols from {len(total_files)} file(s): "
        f"{result.inserted:,} new, {result.updated:,} updated{kept}; {seconds:.2f} s "
        f"({result.bars / seconds if seconds else 0:,.0f} bars/s)."
    )
    return result


class _ProgressBars(FetchObserver):
    """A tqdm bar per symbol over its calls, then the symbol's one-line summary."""

    def __init__(self, echo: Callable[[str], None], show: bool) -> None:
        self.echo, self.show = echo, show
        self.bar: tqdm | None = None

    async def symbol_started(self, symbol: str, index: int, total: int, calls: int) -> None:
        self.close()
        if calls:
            self.bar = tqdm(total=calls, unit="call", desc=f"{symbol} ({index + 1}/{total})", disable=not self.show)

    async def call_done(self, symbol: str, done: int, calls: int, label: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(label, refresh=False)
            self.bar.update(1)

    async def symbol_finished(self, result: SymbolResult, index: int, total: int) -> None:
        self.close()
        self.echo(result.summary())

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


async def fetch_price_data(
    settings: Settings,
    request: FetchRequest,
    *,
    echo: Callable[[str], None] = print,
    show_progress: bool = True,
) -> FetchReport:
    """Fetches the request's symbols from Alpha Vantage; raises MissingApiKey before touching anything."""
    ClientConfig.from_settings(settings)
    await _open(settings)
    observer = _ProgressBars(echo, show_progress)
    try:
        report = await fetch_prices(settings, request, observer=observer)
    finally:
        observer.close()
        await Tortoise.close_connections()
    return report


async def seed_prices(
    settings: Settings, *, force: bool = False, echo: Callable[[str], None] = print
) -> list[SeedOutcome]:
    await _open(settings)
    try:
        outcomes = await seed_shipped_prices(force=force)
    finally:
        await Tortoise.close_connections()
    for outcome in outcomes:
        if outcome.status == "loaded":
            echo(
                f"Loaded {outcome.bars:,} bars ({outcome.description}) from {outcome.label} in {outcome.seconds:.2f} s."
            )
        elif outcome.status == "already loaded":
            echo(f"Already loaded: {outcome.description} ({outcome.label}).")
        else:
            echo(outcome.message)
    return outcomes
