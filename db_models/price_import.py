"""Reading price files into PriceBar rows: parse and validate everything first, then write in one transaction.

Formats:
- Alpha Vantage-style JSON Lines: one object per line, {"Meta Data": {"2. Symbol": ..., "N. Time Zone": ...},
  "Time Series (Daily|60min|1min)": {timestamp: {"1. buy price" | "1. open", "2. high", "3. low",
  "4. sell price" | "4. close", "5. volume"}}}, values as strings.
  The adjusted daily series ("5. adjusted close", "6. volume", "7. dividend amount", "8. split coefficient")
  also states splits and dividends on their ex-dates; its adjusted close is not loaded.
- CSV with the header symbol,timestamp,open,high,low,close,volume (high, low, close and volume may be
  empty), and optionally dividend (cash per share) and split (new shares per old share: 2, 1.5, 3:2) columns
  stating the actions whose ex-date is the row's trading date (empty, 0 or 1: none). Timestamps are dates
  (daily bars) or date-times; a date-time without an offset is read in the exchange time zone. The interval
  is inferred (dates: DAY; date-times one hour or one minute apart: HOUR or MINUTE) unless given.

Conventions every reader of PriceBar relies on:
- DAY bars: timestamp = 09:30 exchange time on trade_date, in UTC; trade_date = that date.
- HOUR/MINUTE bars: timestamp = the bar's start as labelled by the source, read in the exchange time
  zone, stored in UTC; trade_date = its local date.
- A bar may carry only its open (high, low and close null): the newest bar of a feed often does.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.transactions import in_transaction

from db_models.corporate_actions import Action, store_actions
from db_models.market import EXCHANGE_TIMEZONE, TICKER_PATTERN, PriceBar, PriceInterval

DAY_BAR_TIME = time(9, 30)
CHUNK_SIZE = 2_000
CSV_HEADER = ("symbol", "timestamp", "open", "high", "low", "close", "volume")
_PRICE_QUANTUM = Decimal("0.000001")
_MAX_PRICE = Decimal("1e13")  # DecimalField(max_digits=20, decimal_places=6) holds 14 integer digits
_TIMEZONE_ALIASES = {"US/Eastern": EXCHANGE_TIMEZONE, "EST5EDT": EXCHANGE_TIMEZONE}
_SERIES_INTERVALS = {"Daily": PriceInterval.DAY, "60min": PriceInterval.HOUR, "1min": PriceInterval.MINUTE}
_AV_FIELDS = {
    "open": ("1. buy price", "1. open"),
    "high": ("2. high",),
    "low": ("3. low",),
    "close": ("4. sell price", "4. close"),
    "volume": ("5. volume", "6. volume"),  # "6. volume" in the adjusted series, after "5. adjusted close"
    "dividend": ("7. dividend amount",),
    "split": ("8. split coefficient",),
}
_KEY_FIELDS = ("symbol", "interval", "timestamp")
_VALUE_FIELDS = ["trade_date", "timezone", "open", "high", "low", "close", "volume", "source"]


class PriceImportError(ValueError):
    """A file cannot be imported; the message names the file and, where it applies, the line."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class _Invalid(ValueError):
    """A value is wrong; the caller adds the file and line."""


@dataclass(frozen=True, slots=True)
class Bar:
    symbol: str
    interval: PriceInterval
    timestamp: datetime  # UTC
    trade_date: date
    timezone: str
    open: Decimal
    high: Decimal | None
    low: Decimal | None
    close: Decimal | None
    volume: float | None
    source: str

    @property
    def key(self) -> tuple[str, PriceInterval, datetime]:
        return (self.symbol, self.interval, self.timestamp)

    def row(self) -> PriceBar:
        return PriceBar(
            symbol=self.symbol,
            interval=self.interval,
            timestamp=self.timestamp,
            trade_date=self.trade_date,
            timezone=self.timezone,
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            volume=self.volume,
            source=self.source,
        )


@dataclass(frozen=True)
class ParsedFile:
    path: Path
    bars: list[Bar]
    actions: list[Action] = field(default_factory=list)  # splits and dividends the file states

    @property
    def symbols(self) -> set[str]:
        return {b.symbol for b in self.bars}


@dataclass(frozen=True)
class WriteResult:
    bars: int
    inserted: int
    updated: int
    kept: int  # open-only bars not written because a complete bar with the same key was already stored
    symbols: int
    actions: int = 0  # splits and dividends written (new or replaced)


# ---------------------------------------------------------------------------------------------- values


def clean_symbol(raw: Any) -> str:
    symbol = str(raw or "").strip().upper()
    if not TICKER_PATTERN.match(symbol):
        raise _Invalid(f"{raw!r} is not a well-formed ticker symbol (e.g. AAPL, BRK.B)")
    return symbol


def _price(raw: Any, name: str, *, required: bool) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise _Invalid(f"{name} is missing")
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise _Invalid(f"{name} {raw!r} is not a number") from None
    if not value.is_finite():
        raise _Invalid(f"{name} {raw!r} is not a finite number")
    if abs(value) >= _MAX_PRICE:
        raise _Invalid(f"{name} {raw!r} is too large")
    return value.quantize(_PRICE_QUANTUM)


def _volume(raw: Any) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise _Invalid(f"volume {raw!r} is not a number") from None
    if value != value or value < 0 or value == float("inf"):
        raise _Invalid(f"volume {raw!r} must be a number >= 0")
    return value


def _zone(name: str) -> ZoneInfo:
    name = _TIMEZONE_ALIASES.get(name, name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Invalid(f"unknown time zone {name!r}") from None


def _zone_name(zone: ZoneInfo) -> str:
    return str(zone.key)


def _parse_time(raw: str) -> date | datetime:
    """A date (YYYY-MM-DD) or a date-time (ISO 8601, with or without an offset)."""
    text = str(raw).strip()
    if not text:
        raise _Invalid("timestamp is missing")
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Invalid(f"timestamp {raw!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DD HH:MM[:SS])") from None


def _placed(when: date | datetime, interval: PriceInterval, zone: ZoneInfo) -> tuple[datetime, date]:
    """(UTC timestamp, exchange-local trade date) under the conventions above."""
    if interval is PriceInterval.DAY:
        if isinstance(when, datetime):
            when = (when.astimezone(zone) if when.tzinfo else when).date()
        local = datetime.combine(when, DAY_BAR_TIME, tzinfo=zone)
        return local.astimezone(UTC), when
    if not isinstance(when, datetime):
        raise _Invalid(f"timestamp {when.isoformat()} has no time of day, but the bars are {interval.value} bars")
    local = when.astimezone(zone) if when.tzinfo else when.replace(tzinfo=zone)
    return local.astimezone(UTC), local.date()


def _show(value: Decimal) -> str:
    return format(value.normalize(), "f")


def make_bar(
    symbol: str,
    interval: PriceInterval,
    when: date | datetime,
    zone: ZoneInfo,
    *,
    open: Any,
    high: Any = None,
    low: Any = None,
    close: Any = None,
    volume: Any = None,
    source: str,
) -> Bar:
    """One validated bar; raises _Invalid naming the rule it breaks."""
    timestamp, trade_date = _placed(when, interval, zone)
    o = _price(open, "open", required=True)
    h = _price(high, "high", required=False)
    lo = _price(low, "low", required=False)
    c = _price(close, "close", required=False)
    assert o is not None
    if o <= 0:
        raise _Invalid(f"open must be > 0, got {_show(o)}")
    if c is not None and c <= 0:
        raise _Invalid(f"close must be > 0, got {_show(c)}")
    known = [p for p in (o, c) if p is not None]
    if h is not None and h < max(known):
        raise _Invalid(f"high {_show(h)} is below max(open, close) {_show(max(known))}")
    if lo is not None and lo > min(known):
        raise _Invalid(f"low {_show(lo)} is above min(open, close) {_show(min(known))}")
    if lo is not None and lo <= 0:
        raise _Invalid(f"low must be > 0, got {_show(lo)}")
    return Bar(
        symbol=symbol,
        interval=interval,
        timestamp=timestamp,
        trade_date=trade_date,
        timezone=_zone_name(zone),
        open=o,
        high=h,
        low=lo,
        close=c,
        volume=_volume(volume),
        source=source,
    )


def parse_interval(value: str | PriceInterval | None) -> PriceInterval | None:
    if value is None or isinstance(value, PriceInterval):
        return value
    try:
        return PriceInterval(value.strip().upper())
    except ValueError:
        raise ValueError(f"unknown interval {value!r}; use one of DAY, HOUR, MINUTE") from None


def _unique_actions(known: list[Action], new: list[Action]) -> list[Action]:
    """The new actions not stated already; the same action with another value is an error."""
    stated = {(a.symbol, a.ex_date, a.kind): a for a in known}
    fresh = []
    for action in new:
        before = stated.get((action.symbol, action.ex_date, action.kind))
        if before is None:
            fresh.append(action)
            stated[(action.symbol, action.ex_date, action.kind)] = action
        elif (before.ratio, before.amount) != (action.ratio, action.amount):
            raise _Invalid(
                f"{action.symbol} {action.ex_date.isoformat()}: a second {str(action.kind).lower()} "
                "with another value on the same date"
            )
    return fresh


# ---------------------------------------------------------------------------------------------- JSON Lines


def _series_interval(key: str) -> PriceInterval:
    name = key[len("Time Series (") :].rstrip(")").strip()
    if name not in _SERIES_INTERVALS:
        raise _Invalid(
            f"unknown interval {key!r}; known: " + ", ".join(f"Time Series ({k})" for k in _SERIES_INTERVALS)
        )
    return _SERIES_INTERVALS[name]


def _av_value(fields: dict[str, Any], name: str) -> Any:
    for key in _AV_FIELDS[name]:
        if key in fields:
            return fields[key]
    return None


def _row_actions(bar: Bar, dividend: Any, split: Any) -> list[Action]:
    """The split and dividend a row states, effective at the open of its trading date."""
    if dividend is None and split is None:
        return []
    try:
        return Action.from_columns(bar.symbol, bar.trade_date, dividend, split, bar.source)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None


def _jsonl_line(
    text: str, source: str, zone_default: ZoneInfo, interval: PriceInterval | None
) -> tuple[list[Bar], list[Action]]:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Invalid(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict) or not isinstance(record.get("Meta Data"), dict):
        raise _Invalid('expected an object with "Meta Data" and a "Time Series (...)" object')
    meta = record["Meta Data"]
    symbol_raw = next((v for k, v in meta.items() if k.endswith("Symbol")), None)
    if symbol_raw is None:
        raise _Invalid('"Meta Data" has no "2. Symbol"')
    symbol = clean_symbol(symbol_raw)
    zone_name = next((v for k, v in meta.items() if k.endswith("Time Zone")), None)
    zone = _zone(zone_name) if zone_name else zone_default
    series_keys = [k for k in record if k.startswith("Time Series")]
    if len(series_keys) != 1 or not isinstance(record[series_keys[0]], dict):
        raise _Invalid('expected exactly one "Time Series (...)" object')
    found = _series_interval(series_keys[0])
    if interval is not None and interval is not found:
        raise _Invalid(f"the file holds {found.value} bars ({series_keys[0]!r}), not {interval.value}")
    bars, actions = [], []
    for stamp, fields in record[series_keys[0]].items():
        if not isinstance(fields, dict):
            raise _Invalid(f"bar {stamp!r} is not an object")
        try:
            bar = make_bar(
                symbol,
                found,
                _parse_time(stamp),
                zone,
                open=_av_value(fields, "open"),
                high=_av_value(fields, "high"),
                low=_av_value(fields, "low"),
                close=_av_value(fields, "close"),
                volume=_av_value(fields, "volume"),
                source=source,
            )
            actions += _row_actions(bar, _av_value(fields, "dividend"), _av_value(fields, "split"))
        except _Invalid as exc:
            raise _Invalid(f"{symbol} {stamp}: {exc}") from None
        bars.append(bar)
    return bars, actions


def parse_jsonl(
    path: Path, *, interval: PriceInterval | None = None, timezone: str = EXCHANGE_TIMEZONE, source: str | None = None
) -> ParsedFile:
    source = source or f"import: {path.name}"
    zone = _zone(timezone)
    bars: list[Bar] = []
    actions: list[Action] = []
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                line_bars, line_actions = _jsonl_line(text, source, zone, interval)
                bars += line_bars
                actions += _unique_actions(actions, line_actions)
            except _Invalid as exc:
                raise PriceImportError(path, number, str(exc)) from None
    return ParsedFile(path, bars, actions)


# ---------------------------------------------------------------------------------------------- CSV


def _infer_interval(rows: list[tuple[int, str, date | datetime]], path: Path) -> PriceInterval:
    if all(not isinstance(when, datetime) for _, _, when in rows):
        return PriceInterval.DAY
    if any(not isinstance(when, datetime) for _, _, when in rows):
        line = next(n for n, _, when in rows if not isinstance(when, datetime))
        raise PriceImportError(path, line, "mixes dates and date-times; pass --interval")
    by_symbol: dict[str, list[datetime]] = {}
    for _, symbol, when in rows:
        by_symbol.setdefault(symbol, []).append(when)  # type: ignore[arg-type]
    gaps = set()
    for stamps in by_symbol.values():
        ordered = sorted(stamps)
        gaps.update(b - a for a, b in pairwise(ordered) if b > a)
    if gaps and min(gaps) == timedelta(hours=1):
        return PriceInterval.HOUR
    if gaps and min(gaps) == timedelta(minutes=1):
        return PriceInterval.MINUTE
    raise PriceImportError(
        path, None, "cannot infer the bar interval from the timestamps; pass --interval DAY|HOUR|MINUTE"
    )


def parse_csv(
    path: Path, *, interval: PriceInterval | None = None, timezone: str = EXCHANGE_TIMEZONE, source: str | None = None
) -> ParsedFile:
    source = source or f"import: {path.name}"
    try:
        zone = _zone(timezone)
    except _Invalid as exc:
        raise PriceImportError(path, None, str(exc)) from None
    raw_rows: list[tuple[int, dict[str, str]]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise PriceImportError(path, 1, "the file is empty; expected the header " + ",".join(CSV_HEADER))
        names = [h.strip().lower() for h in header]
        missing = [c for c in CSV_HEADER if c not in names]
        if missing:
            raise PriceImportError(path, 1, f"the header lacks {', '.join(missing)}; expected " + ",".join(CSV_HEADER))
        for cells in reader:
            number = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(names):
                raise PriceImportError(path, number, f"expected {len(names)} fields, got {len(cells)}")
            raw_rows.append((number, dict(zip(names, cells, strict=True))))
    parsed: list[tuple[int, str, date | datetime]] = []
    for number, row in raw_rows:
        try:
            parsed.append((number, clean_symbol(row["symbol"]), _parse_time(row["timestamp"])))
        except _Invalid as exc:
            raise PriceImportError(path, number, str(exc)) from None
    if interval is None and parsed:
        interval = _infer_interval(parsed, path)
    bars, actions = [], []
    for (number, row), (_, symbol, when) in zip(raw_rows, parsed, strict=True):
        try:
            bar = make_bar(
                symbol,
                interval,
                when,
                zone,
                open=row["open"],
                high=row["high"],
                low=row["low"],
                close=row["close"],
                volume=row["volume"],
                source=source,
            )
            actions += _unique_actions(actions, _row_actions(bar, row.get("dividend"), row.get("split")))
        except _Invalid as exc:
            raise PriceImportError(path, number, str(exc)) from None
        bars.append(bar)
    return ParsedFile(path, bars, actions)


def parse_file(
    path: Path | str, *, interval: PriceInterval | str | None = None, timezone: str = EXCHANGE_TIMEZONE
) -> ParsedFile:
    """Reads and validates a whole file; raises PriceImportError naming the file and line."""
    path = Path(path)
    try:
        interval = parse_interval(interval)
    except ValueError as exc:
        raise PriceImportError(path, None, str(exc)) from None
    if not path.is_file():
        raise PriceImportError(path, None, "no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".jsonl", ".ndjson", ".json"):
            return parse_jsonl(path, interval=interval, timezone=timezone)
        if suffix == ".csv":
            return parse_csv(path, interval=interval, timezone=timezone)
    except UnicodeDecodeError as exc:
        raise PriceImportError(path, None, f"not UTF-8 text ({exc.reason})") from None
    except _Invalid as exc:
        raise PriceImportError(path, None, str(exc)) from None
    raise PriceImportError(path, None, "unknown format: expected a .jsonl (Alpha Vantage-style) or .csv file")


# ---------------------------------------------------------------------------------------------- writing


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
