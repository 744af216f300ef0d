"""Opaque IDs and cursors: clients never parse them, and an ID of one type never finds another."""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

from tortoise.models import Model

from graphql_api.errors import not_found

RowT = TypeVar("RowT", bound=Model)


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(value: str) -> str | None:
    try:
        padded = value + "=" * (-len(value) % 4)
        return base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


# Every row an ID or a cursor names has a 32-bit integer key; a larger number is no row of ours (PostgreSQL
# would refuse to compare the column with it, and the error would surface as INTERNAL).
MAX_KEY = 2**31 - 1


def _split_int(text: str | None, prefix: str) -> int | None:
    """The key written by to_global_id or to_cursor, exactly as they write it: ASCII digits, no leading zero."""
    if text is None or not text.startswith(prefix + ":"):
        return None
    raw = text[len(prefix) + 1 :]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or (raw.startswith("0") and raw != "0"):
        return None
    key = int(raw)
    return key if key <= MAX_KEY else None


def to_global_id(type_name: str, pk: int) -> str:
    return _encode(f"{type_name}:{pk}")


def split_global_id(value: str) -> tuple[str, int] | None:
    """The type name and key of an ID exactly as to_global_id writes it, whatever its type; None for anything else."""
    text = _decode(value)
    type_name = None if text is None else text.partition(":")[0]
    key = None if not type_name else _split_int(text, type_name)
    return None if key is None or type_name is None else (type_name, key)


def parse_global_id(type_name: str, value: str, *, kind: str) -> int:
    """The primary key behind an ID of this type; NOT_FOUND for anything else."""
    pk = _split_int(_decode(value), type_name)
    if pk is None:
        raise not_found(kind, value)
    return pk


async def find_by_global_id(model: type[RowT], type_name: str, value: str, *, kind: str, **scope: Any) -> RowT:
    """The row an ID names, within `scope` (its owner, its model): a row outside the scope is as missing
    as one that never existed."""
    row = await model.get_or_none(id=parse_global_id(type_name, value, kind=kind), **scope)
    if row is None:
        raise not_found(kind, value)
    return row


def optional_global_id(type_name: str, value: str | None, *, kind: str) -> int | None:
    return None if value is None else parse_global_id(type_name, value, kind=kind)


def to_cursor(key: int) -> str:
    return _encode(f"cursor:{key}")


def parse_cursor(value: str) -> int | None:
    return _split_int(_decode(value), "cursor")
