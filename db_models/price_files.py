"""Reading price files: every bar and every stated split and dividend parsed and validated, naming file and line.

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
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from db_models.corporate_actions import Action
from db_models.market import EXCHANGE_TIMEZONE, PriceInterval
from db_models.price_bars import (
    Bar,
    InvalidValue,
    clean_symbol,
    make_bar,
    parse_interval,
    parse_time,
    zone_named,
)

CSV_HEADER = ("symbol", "timestamp", "open", "high", "low", "close", "volume")
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


class PriceImportError(ValueError):
    """A file cannot be imported; the message names the file and, where it applies, the line."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class ParsedFile:
    path: Path
    bars: list[Bar]
    actions: list[Action] = field(default_factory=list)  # splits and dividends the file states

    @property
    def symbols(self) -> set[str]:
        return {b.symbol for b in self.bars}


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
            raise InvalidValue(
                f"{action.symbol} {action.ex_date.isoformat()}: a second {str(action.kind).lower()} "
                "with another value on the same date"
            )
    return fresh


# ---------------------------------------------------------------------------------------------- JSON Lines


def _series_interval(key: str) -> PriceInterval:
    name = key[len("Time Series (") :].rstrip(")").strip()
    if name not in _SERIES_INTERVALS:
        raise InvalidValue(
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
        raise InvalidValue(str(exc)) from None


def _jsonl_line(
    text: str, source: str, zone_default: ZoneInfo, interval: PriceInterval | None
) -> tuple[list[Bar], list[Action]]:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidValue(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict) or not isinstance(record.get("Meta Data"), dict):
        raise InvalidValue('expected an object with "Meta Data" and a "Time Series (...)" object')
    meta = record["Meta Data"]
    symbol_raw = next((v for k, v in meta.items() if k.endswith("Symbol")), None)
    if symbol_raw is None:
        raise InvalidValue('"Meta Data" has no "2. Symbol"')
    symbol = clean_symbol(symbol_raw)
    zone_name = next((v for k, v in meta.items() if k.endswith("Time Zone")), None)
    zone = zone_named(zone_name) if zone_name else zone_default
    series_keys = [k for k in record if k.startswith("Time Series")]
    if len(series_keys) != 1 or not isinstance(record[series_keys[0]], dict):
        raise InvalidValue('expected exactly one "Time Series (...)" object')
    found = _series_interval(series_keys[0])
    if interval is not None and interval is not found:
        raise InvalidValue(f"the file holds {found.value} bars ({series_keys[0]!r}), not {interval.value}")
    bars, actions = [], []
    for stamp, fields in record[series_keys[0]].items():
        if not isinstance(fields, dict):
            raise InvalidValue(f"bar {stamp!r} is not an object")
        try:
            bar = make_bar(
                symbol,
                found,
                parse_time(stamp),
                zone,
                open=_av_value(fields, "open"),
                high=_av_value(fields, "high"),
                low=_av_value(fields, "low"),
                close=_av_value(fields, "close"),
                volume=_av_value(fields, "volume"),
                source=source,
            )
            actions += _row_actions(bar, _av_value(fields, "dividend"), _av_value(fields, "split"))
        except InvalidValue as exc:
            raise InvalidValue(f"{symbol} {stamp}: {exc}") from None
        bars.append(bar)
    return bars, actions


def parse_jsonl(
    path: Path, *, interval: PriceInterval | None = None, timezone: str = EXCHANGE_TIMEZONE, source: str | None = None
) -> ParsedFile:
    source = source or f"import: {path.name}"
    zone = zone_named(timezone)
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
            except InvalidValue as exc:
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
        zone = zone_named(timezone)
    except InvalidValue as exc:
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
            parsed.append((number, clean_symbol(row["symbol"]), parse_time(row["timestamp"])))
        except InvalidValue as exc:
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
        except InvalidValue as exc:
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
    except InvalidValue as exc:
        raise PriceImportError(path, None, str(exc)) from None
    raise PriceImportError(path, None, "unknown format: expected a .jsonl (Alpha Vantage-style) or .csv file")
