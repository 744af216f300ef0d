"""Reading the wire form of events: typed values out of a decoded JSON object, or a clear error.

tasks/event_contract.py reads every event through this, so a malformed event is refused with the
object and key at fault named, never half-read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")
SHOWN_CHARS = 80  # of a bad value, quoted in an error


class EventContractError(ValueError):
    """An event, built in code or read from the bus, does not follow the event contract."""


class WireObject:
    """Reads the keys of one wire object by type; each error names the object and the key."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise EventContractError(f"{where} must be an object, not {type(data).__name__}.")
        self.data = data
        self.where = where

    def _value(self, key: str, expected: type, *, optional: bool) -> Any:
        value = self.data.get(key)
        if value is None:
            if optional:
                return None
            raise EventContractError(f"{self.where} has no {key!r}.")
        # bool is an int in Python, never in the contract.
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is int):
            raise EventContractError(f"{self.where}: {key!r} must be {_KIND_NAMES[expected]}, not {_shown(value)}.")
        return value

    def integer(self, key: str) -> int:
        return self._value(key, int, optional=False)

    def optional_integer(self, key: str) -> int | None:
        return self._value(key, int, optional=True)

    def text(self, key: str) -> str:
        return self._value(key, str, optional=False)

    def optional_text(self, key: str) -> str | None:
        return self._value(key, str, optional=True)

    def flag(self, key: str, *, default: bool) -> bool:
        value = self._value(key, bool, optional=True)
        return default if value is None else value

    def mapping(self, key: str) -> Mapping[str, Any]:
        return self._value(key, Mapping, optional=False)

    def optional_mapping(self, key: str) -> Mapping[str, Any] | None:
        return self._value(key, Mapping, optional=True)

    def optional_list(self, key: str) -> list[Any] | None:
        return self._value(key, list, optional=True)

    def integer_map(self, key: str) -> dict[str, int]:
        value = self._value(key, Mapping, optional=False)
        if not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in value.items()):
            raise EventContractError(f"{self.where}: {key!r} must map names to integers, not {_shown(value)}.")
        return dict(value)

    def choice(self, key: str, enum: type[E]) -> E:
        value = self.text(key)
        try:
            return enum(value)
        except ValueError:
            known = ", ".join(member.value for member in enum)
            raise EventContractError(f"{self.where}: {key!r} is {_shown(value)}, not one of {known}.") from None

    def day(self, key: str) -> dt.date:
        return self._parsed(key, self.text(key), dt.date.fromisoformat, "an ISO date")

    def optional_day(self, key: str) -> dt.date | None:
        value = self.optional_text(key)
        return None if value is None else self._parsed(key, value, dt.date.fromisoformat, "an ISO date")

    def moment(self, key: str) -> dt.datetime:
        return self._parsed(key, self.text(key), _aware_datetime, "an ISO date-time with a UTC offset")

    def money(self, key: str) -> Decimal:
        return self._parsed(key, self.text(key), _finite_decimal, "a decimal number")

    def optional_money(self, key: str) -> Decimal | None:
        value = self.optional_text(key)
        return None if value is None else self._parsed(key, value, _finite_decimal, "a decimal number")

    def _parsed(self, key: str, value: str, parse: Callable[[str], T], expected: str) -> T:
        try:
            return parse(value)
        except (ValueError, InvalidOperation):
            raise EventContractError(f"{self.where}: {key!r} is {_shown(value)}, not {expected}.") from None


_KIND_NAMES = {int: "an integer", str: "a string", bool: "true or false", Mapping: "an object", list: "a list"}


def _shown(value: object) -> str:
    """A value as an error message quotes it: short, whatever its size."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 3]}..."


def _aware_datetime(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment


def _finite_decimal(value: str) -> Decimal:
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(value)
    return number
