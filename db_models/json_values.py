"""What a JSON column can hold. Tortoise writes JSON fields with orjson, which refuses integers outside
64 bits ("Integer exceeds 64-bit range"); Python's json reads them from any text. Data that comes from a
language model's tool call (or a number a user typed that it passed on) is made storable first."""

from __future__ import annotations

from typing import Any

_INT64 = 2**63


def storable(value: Any) -> Any:
    """JSON data (as json.loads returns it) with each integer outside 64 bits replaced by its decimal text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -_INT64 <= value < _INT64 else str(value)
    if isinstance(value, dict):
        return {key: storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value
