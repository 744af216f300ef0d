"""Price-data operations for the command line: import files, load the shipped data."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tortoise import Tortoise
from tqdm import tqdm

from db_models.config import apply_migrations, tortoise_config
from db_models.market import EXCHANGE_TIMEZONE
from db_models.price_import import ParsedFile, WriteResult, import_files
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
            echo(f"{f.path}: {len(f.bars):,} bars of {len(f.symbols):,} symbols, valid.")
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
    echo(
        f"Imported {result.bars:,} bars of {result.symbols:,} symbols from {len(total_files)} file(s): "
        f"{result.inserted:,} new, {result.updated:,} updated{kept}; {seconds:.2f} s "
        f"({result.bars / seconds if seconds else 0:,.0f} bars/s)."
    )
    return result


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
