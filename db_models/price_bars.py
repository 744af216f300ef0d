"""One validated price bar, and the rules every source of prices goes through to make one.

Conventions every reader of PriceBar relies on:
- DAY bars: timestamp = 09:30 exchange time on trade_date, in UTC; trade_date = that date.
- HOUR/MINUTE bars: timestamp = the bar's start as labelled by the source, read in the exchange time
  zone, stored in UTC; trade_date = its local date.
- A bar may carry only its open (high, low and close null): the newest bar of a feed often does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from db_models.market import EXCHANGE_TIMEZONE, TICKER_PATTERN, PriceBar, PriceInterval

DAY_BAR_TIME = time(9, 30)
_PRICE_QUANTUM = Decimal("0.000001")
_MAX_PRICE = Decimal("1e13")  # DecimalField(max_digits=20, decimal_places=6) holds 14 integer digits
_TIMEZONE_ALIASES = {"US/Eastern": EXCHANGE_TIMEZONE, "EST5EDT": EXCHANGE_TIMEZONE}


class InvalidValue(ValueError):
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


def clean_symbol(raw: Any) -> str:
    symbol = str(raw or "").strip().upper()
    if not TICKER_PATTERN.match(symbol):
        raise InvalidValue(f"{raw!r} is not a well-formed ticker symbol (e.g. AAPL, BRK.B)")
    return symbol


def _price(raw: Any, name: str, *, required: bool) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise InvalidValue(f"{name} is missing")
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise InvalidValue(f"{name} {raw!r} is not a number") from None
    if not value.is_finite():
        raise InvalidValue(f"{name} {raw!r} is not a finite number")
    if abs(value) >= _MAX_PRICE:
        raise InvalidValue(f"{name} {raw!r} is too large")
    return value.quantize(_PRICE_QUANTUM)


def _volume(raw: Any) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise InvalidValue(f"volume {raw!r} is not a number") from None
    if value != value or value < 0 or value == float("inf"):
        raise InvalidValue(f"volume {raw!r} must be a number >= 0")
    return value


def zone_named(name: str) -> ZoneInfo:
    name = _TIMEZONE_ALIASES.get(name, name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(f"unknown time zone {name!r}") from None


def _zone_name(zone: ZoneInfo) -> str:
    return str(zone.key)


def parse_time(raw: str) -> date | datetime:
    """A date (YYYY-MM-DD) or a date-time (ISO 8601, with or without an offset)."""
    text = str(raw).strip()
    if not text:
        raise InvalidValue("timestamp is missing")
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        shapes = "a date (YYYY-MM-DD) or date-time (YYYY-MM-DD HH:MM[:SS])"
        raise InvalidValue(f"timestamp {raw!r} is not {shapes}") from None


def _placed(when: date | datetime, interval: PriceInterval, zone: ZoneInfo) -> tuple[datetime, date]:
    """(UTC timestamp, exchange-local trade date) under the conventions above."""
    if interval is PriceInterval.DAY:
        if isinstance(when, datetime):
            when = (when.astimezone(zone) if when.tzinfo else when).date()
        local = datetime.combine(when, DAY_BAR_TIME, tzinfo=zone)
        return local.astimezone(UTC), when
    if not isinstance(when, datetime):
        raise InvalidValue(f"timestamp {when.isoformat()} has no time of day, but the bars are {interval.value} bars")
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
    """One validated bar; raises InvalidValue naming the rule it breaks."""
    timestamp, trade_date = _placed(when, interval, zone)
    o = _price(open, "open", required=True)
    h = _price(high, "high", required=False)
    lo = _price(low, "low", required=False)
    c = _price(close, "close", required=False)
    assert o is not None
    if o <= 0:
        raise InvalidValue(f"open must be > 0, got {_show(o)}")
    if c is not None and c <= 0:
        raise InvalidValue(f"close must be > 0, got {_show(c)}")
    known = [p for p in (o, c) if p is not None]
    if h is not None and h < max(known):
        raise InvalidValue(f"high {_show(h)} is below max(open, close) {_show(max(known))}")
    if lo is not None and lo > min(known):
        raise InvalidValue(f"low {_show(lo)} is above min(open, close) {_show(min(known))}")
    if lo is not None and lo <= 0:
        raise InvalidValue(f"low must be > 0, got {_show(lo)}")
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
