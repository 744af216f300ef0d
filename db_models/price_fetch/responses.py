"""Alpha Vantage bodies into the project's Bar and Action, through the same checks as `aibt data import`.

Series (JSON): {"Meta Data": {"2. Symbol", ..., "N. Time Zone"}, "Time Series (Daily|60min|1min)":
{stamp: {"1. open", "2. high", "3. low", "4. close", "5. volume"}}}; the adjusted daily series numbers its
fields "5. adjusted close", "6. volume", "7. dividend amount", "8. split coefficient". Series (CSV): the
header timestamp,open,high,low,close,volume (adjusted: ...,adjusted_close,volume,dividend_amount,
split_coefficient), times in US/Eastern. SPLITS: {"symbol", "data": [{"effective_date", "split_factor"}]};
DIVIDENDS: {"symbol", "data": [{"ex_dividend_date", "declaration_date", "record_date", "payment_date",
"amount"}]}, with "None" for an unknown date.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from db_models.corporate_actions import Action
from db_models.market import EXCHANGE_TIMEZONE, PriceInterval
from db_models.price_bars import Bar, make_bar
from db_models.price_fetch.client import Answer
from db_models.price_fetch.errors import SymbolFailed

_ZONE_ALIASES = {"US/Eastern": EXCHANGE_TIMEZONE, "EST5EDT": EXCHANGE_TIMEZONE}
SERIES_NAMES = {PriceInterval.DAY: "Daily", PriceInterval.HOUR: "60min", PriceInterval.MINUTE: "1min"}
# JSON field names -> our names; the adjusted daily series shifts volume to 6 to make room for its columns.
_JSON_FIELDS = {
    "1. open": "open",
    "2. high": "high",
    "3. low": "low",
    "4. close": "close",
    "5. volume": "volume",
    "5. adjusted close": "adjusted_close",
    "6. volume": "volume",
    "7. dividend amount": "dividend_amount",
    "8. split coefficient": "split_coefficient",
}


def _zone(meta: dict[str, Any]) -> ZoneInfo:
    name = next((str(v) for k, v in meta.items() if k.endswith("Time Zone")), EXCHANGE_TIMEZONE)
    try:
        return ZoneInfo(_ZONE_ALIASES.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        raise SymbolFailed(f"the series names an unknown time zone {name!r}") from None


def _when(stamp: str, interval: PriceInterval) -> dt.date | dt.datetime:
    text = stamp.strip()
    try:
        return dt.date.fromisoformat(text) if interval is PriceInterval.DAY else dt.datetime.fromisoformat(text)
    except ValueError:
        kind = interval.value.lower()
        raise SymbolFailed(f"the series has a timestamp {stamp!r} that is not a {kind} time") from None


def _json_rows(data: dict[str, Any], symbol: str, interval: PriceInterval) -> tuple[ZoneInfo, Iterator[tuple]]:
    name = f"Time Series ({SERIES_NAMES[interval]})"
    series = data.get(name)
    if not isinstance(series, dict):
        keys = ", ".join(sorted(data)) or "nothing"
        raise SymbolFailed(f"expected {name!r} in the answer, got {keys}")
    meta = data.get("Meta Data") if isinstance(data.get("Meta Data"), dict) else {}
    stated = next((str(v) for k, v in meta.items() if k.endswith("Symbol")), symbol)
    if stated.strip().upper() != symbol:
        raise SymbolFailed(f"asked for {symbol}, the answer is about {stated}")
    rows = (
        (stamp, {_JSON_FIELDS.get(k, k): v for k, v in fields.items()} if isinstance(fields, dict) else None)
        for stamp, fields in series.items()
    )
    return _zone(meta), rows


def _csv_rows(text: str) -> Iterator[tuple[str, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if "timestamp" not in header or "open" not in header:
        got = ",".join(header) or "nothing"
        raise SymbolFailed(f"expected a CSV series with timestamp and open columns, got {got}")
    for row in reader:
        fields = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if fields.get("timestamp"):
            yield fields["timestamp"], fields


def series_rows(answer: Answer, symbol: str, interval: PriceInterval) -> tuple[ZoneInfo, Iterable[tuple]]:
    """(time zone, (timestamp, fields) pairs) of a JSON or CSV series answer."""
    if answer.json is not None:
        return _json_rows(answer.json, symbol, interval)
    return ZoneInfo(EXCHANGE_TIMEZONE), _csv_rows(answer.csv or "")


def parse_bars(answer: Answer, symbol: str, interval: PriceInterval, source: str) -> list[Bar]:
    zone, rows = series_rows(answer, symbol, interval)
    bars = []
    for stamp, fields in rows:
        if fields is None:
            raise SymbolFailed(f"{symbol} {stamp}: the bar is not an object")
        try:
            bars.append(
                make_bar(
                    symbol,
                    interval,
                    _when(stamp, interval),
                    zone,
                    open=fields.get("open"),
                    high=fields.get("high"),
                    low=fields.get("low"),
                    close=fields.get("close"),
                    volume=fields.get("volume"),
                    source=source,
                )
            )
        except ValueError as exc:
            raise SymbolFailed(f"{symbol} {stamp}: {exc}") from None
    return bars


def _decimal(raw: Any, what: str, symbol: str, day: str) -> Decimal | None:
    text = str(raw).strip() if raw is not None else ""
    if not text or text.lower() == "none":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise SymbolFailed(f"{symbol} {day}: {what} {raw!r} is not a number") from None
    if not value.is_finite():
        raise SymbolFailed(f"{symbol} {day}: {what} {raw!r} is not a finite number")
    return value


def _day(raw: Any, what: str, symbol: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise SymbolFailed(f"{symbol}: {what} {raw!r} is not a date (YYYY-MM-DD)") from None


def adjusted_series_actions(answer: Answer, symbol: str, source: str) -> list[Action]:
    """The splits and dividends stated in the adjusted daily series' columns."""
    _, rows = series_rows(answer, symbol, PriceInterval.DAY)
    actions = []
    for stamp, fields in rows:
        if fields is None:
            continue
        day = _day(stamp, "the date", symbol)
        amount = _decimal(fields.get("dividend_amount"), "dividend amount", symbol, stamp)
        if amount is not None and amount > 0:
            actions.append(Action.dividend(symbol, day, amount, source))
        factor = _decimal(fields.get("split_coefficient"), "split coefficient", symbol, stamp)
        if factor is not None and factor > 0 and factor != 1:
            actions.append(Action.split(symbol, day, factor, source))
    return actions


def _event_rows(answer: Answer, symbol: str, function: str) -> list[dict[str, Any]]:
    data = answer.json
    if data is None:
        raise SymbolFailed(f"{function} answered CSV; expected JSON")
    if not data:
        return []  # the provider knows no events of this symbol
    rows = data.get("data")
    if not isinstance(rows, list):
        raise SymbolFailed(f"expected a data list in the {function} answer, got {', '.join(sorted(data))}")
    stated = str(data.get("symbol", symbol)).strip().upper()
    if stated != symbol:
        raise SymbolFailed(f"asked {function} of {symbol}, the answer is about {stated}")
    return [row for row in rows if isinstance(row, dict)]


def parse_splits(answer: Answer, symbol: str, source: str) -> list[Action]:
    actions = []
    for row in _event_rows(answer, symbol, "SPLITS"):
        day = _day(row.get("effective_date"), "effective_date", symbol)
        factor = _decimal(row.get("split_factor"), "split_factor", symbol, day.isoformat())
        if factor is None or factor <= 0 or factor == 1:
            raise SymbolFailed(f"{symbol} {day}: split_factor {row.get('split_factor')!r} is not a split ratio")
        actions.append(Action.split(symbol, day, factor.quantize(Decimal("0.000001")), source))
    return actions


def parse_dividends(answer: Answer, symbol: str, source: str) -> list[Action]:
    actions = []
    for row in _event_rows(answer, symbol, "DIVIDENDS"):
        day = _day(row.get("ex_dividend_date"), "ex_dividend_date", symbol)
        amount = _decimal(row.get("amount"), "amount", symbol, day.isoformat())
        if amount is None or amount <= 0:
            continue  # a row without cash (the provider lists some announcements before their amount)
        actions.append(Action.dividend(symbol, day, amount.quantize(Decimal("0.000001")), source))
    return actions
