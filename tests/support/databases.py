"""Test databases: a fresh SQLite file or a fresh PostgreSQL database per test session, dropped after."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg

POSTGRES_ADMIN_URL = os.environ.get("AIBT_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def backend() -> str:
    value = os.environ.get("AIBT_TEST_DATABASE", "sqlite")
    if value not in ("sqlite", "postgres"):
        raise SystemExit(f"AIBT_TEST_DATABASE must be sqlite or postgres, not {value!r}")
    return value


def _postgres_url(database: str) -> str:
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def create_database(data_dir: Path) -> tuple[str, str | None]:
    """Returns (DATABASE_URL, name of the PostgreSQL database to drop afterwards or None)."""
    if backend() == "sqlite":
        return f"sqlite://{data_dir / 'test.sqlite3'}", None
    name = f"aibt_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        raise SystemExit(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc}). "
            "Start it (make services) or set AIBT_TEST_POSTGRES_URL."
        ) from exc
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _postgres_url(name), name


async def drop_database(name: str | None) -> None:
    if name is None:
        return
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
