"""The Tortoise configuration every process uses, and the migration entry point."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MODEL_MODULES = [
    "db_models.accounts",
    "db_models.trading",
    "db_models.runs",
    "db_models.chat",
    "db_models.market",
    "db_models.arenas",
    "db_models.price_fetches",
]


# asyncpg's pool in Tortoise defaults to 5 connections: a busy API process then queues its requests for a
# connection while PostgreSQL idles. DATABASE_URL's own ?maxsize=N (and minsize) still win.
POSTGRES_POOL_MAXSIZE = 20


def with_pool_size(database_url: str) -> str:
    parts = urlsplit(database_url)
    if not parts.scheme.startswith(("postgres", "asyncpg", "psycopg")):
        return database_url
    query = dict(parse_qsl(parts.query))
    query.setdefault("maxsize", str(POSTGRES_POOL_MAXSIZE))
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _keep_session(connection: Any) -> None:
    """What a pooled connection needs when it goes back to the pool, besides asyncpg's rollback of an open
    transaction: nothing. asyncpg's default reset sends `RESET ALL; UNLISTEN *; CLOSE ALL; ...` on every
    release, a round trip per Tortoise query (each query takes and releases a connection), for session state
    this application never sets: no SET, LISTEN, cursors or advisory locks."""


def database_connection(database_url: str) -> str | dict[str, Any]:
    """The Tortoise connection for a URL: PostgreSQL on asyncpg with the pool size and the release above."""
    from tortoise.backends.base.config_generator import expand_db_url

    url = with_pool_size(database_url)
    if urlsplit(url).scheme not in ("postgres", "postgresql", "asyncpg"):
        return url
    connection = expand_db_url(url)
    connection["credentials"]["reset"] = _keep_session
    return connection


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_connection(database_url)},
        "apps": {
            "aibt": {
                "models": MODEL_MODULES,
                "migrations": "migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def apply_migrations(database_url: str) -> None:
    """Bring the schema up to the latest migration; applying twice is a no-op."""
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate

    try:
        await migrate(config=tortoise_config(database_url))
    finally:
        # Release the migration's connections: an open aiosqlite thread would keep the process alive.
        await Tortoise.close_connections()


def __getattr__(name: str) -> Any:
    """`tortoise -c db_models.config.TORTOISE_ORM makemigrations` reads the configured database lazily."""
    if name == "TORTOISE_ORM":
        from db_models.settings import get_settings

        return tortoise_config(get_settings().database_url)
    raise AttributeError(name)
