"""Importing price files: parse and validate every file first, then write all their bars in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from db_models.corporate_actions import Action, store_actions
from db_models.market import EXCHANGE_TIMEZONE, PriceBar, PriceInterval
from db_models.price_bars import Bar
from db_models.price_files import ParsedFile, parse_file

CHUNK_SIZE = 2_000
_KEY_FIELDS = ("symbol", "interval", "timestamp")
_VALUE_FIELDS = ["trade_date", "timezone", "open", "high", "low", "close", "volume", "source"]


@dataclass(frozen=True)
class WriteResult:
    bars: int
    inserted: int
    updated: int
    kept: int  # open-only bars not written because a complete bar with the same key was already stored
    symbols: int
    actions: int = 0  # splits and dividends written (new or replaced)


def _unique(bars: Iterable[Bar]) -> list[Bar]:
    """One bar per key; a later file or line wins over an earlier one."""
    by_key: dict[tuple, Bar] = {}
    for bar in bars:
        by_key[bar.key] = bar
    return list(by_key.values())


def _chunks(items: list[Bar], size: int) -> Iterator[list[Bar]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _complete_keys(partial: list[Bar], connection: Any) -> set[tuple]:
    """Keys of the open-only bars given whose stored bar is complete: those stay as stored."""
    found: set[tuple] = set()
    groups: dict[tuple[str, PriceInterval], list[datetime]] = {}
    for bar in partial:
        groups.setdefault((bar.symbol, bar.interval), []).append(bar.timestamp)
    for (symbol, interval), stamps in groups.items():
        for chunk_start in range(0, len(stamps), 500):
            rows = (
                await PriceBar.filter(
                    symbol=symbol,
                    interval=interval,
                    timestamp__in=stamps[chunk_start : chunk_start + 500],
                    close__isnull=False,
                )
                .using_db(connection)
                .values_list("timestamp", flat=True)
            )
            found.update((symbol, interval, stamp.astimezone(UTC)) for stamp in rows)
    return found


async def write_bars(
    bars: Iterable[Bar],
    *,
    overwrite: bool = True,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], Any] | None = None,
    actions: Iterable[Action] = (),
) -> WriteResult:
    """Upserts (or, with overwrite=False, inserts only the missing) bars, and the splits and dividends that came
    with them, in one transaction.

    An open-only bar never replaces a complete bar already stored under the same key.
    """
    actions = list(actions)
    unique = _unique(bars)
    async with in_transaction() as connection:
        before = await PriceBar.all().using_db(connection).count()
        kept = 0
        if overwrite:
            partial = [b for b in unique if b.close is None]
            if partial:
                complete = await _complete_keys(partial, connection)
                if complete:
                    unique = [b for b in unique if b.close is not None or b.key not in complete]
                    kept = len(complete)
        for chunk in _chunks(unique, chunk_size):
            rows = [bar.row() for bar in chunk]
            if overwrite:
                await PriceBar.bulk_create(
                    rows, on_conflict=_KEY_FIELDS, update_fields=_VALUE_FIELDS, using_db=connection
                )
            else:
                await PriceBar.bulk_create(rows, ignore_conflicts=True, using_db=connection)
            if progress is not None:
                progress(len(chunk))
        await store_actions(actions, overwrite=overwrite, connection=connection)
        after = await PriceBar.all().using_db(connection).count()
    inserted = after - before
    return WriteResult(
        bars=len(unique) + kept,
        inserted=inserted,
        updated=(len(unique) - inserted) if overwrite else 0,
        kept=kept,
        symbols=len({b.symbol for b in unique}),
        actions=len({(a.symbol, a.ex_date, a.kind) for a in actions}),
    )


async def import_files(
    paths: Iterable[Path | str],
    *,
    interval: PriceInterval | str | None = None,
    timezone: str = EXCHANGE_TIMEZONE,
    progress: Callable[[int], Any] | None = None,
    on_parsed: Callable[[list[ParsedFile]], Any] | None = None,
) -> WriteResult:
    """Parses and validates every file, then writes all their bars in one transaction (or nothing)."""
    parsed = [parse_file(p, interval=interval, timezone=timezone) for p in paths]
    if on_parsed is not None:
        on_parsed(parsed)
    return await write_bars(
        (bar for f in parsed for bar in f.bars), progress=progress, actions=[a for f in parsed for a in f.actions]
    )
