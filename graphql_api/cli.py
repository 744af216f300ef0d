"""The `aibt` command: serve, tools, worker, migrate, users create, data import|fetch|seed, export-schema."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import click

from db_models.market import EXCHANGE_TIMEZONE
from db_models.settings import Settings, get_settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How `aibt serve` runs uvicorn (the tests' server too): limits a client meets before the app."""
    from graphql_api.security.config import load_security_config
    from graphql_api.security.slow_clients import request_deadline_protocol
    from graphql_api.ws_protocol import AcceptedWebSocketProtocol

    security = load_security_config(settings)
    return {
        # h11 refuses a request line and headers over the limit before buffering them (httptools does not), and
        # each request must arrive (line, headers, body) within its deadline: a slowloris holds no connection.
        "http": request_deadline_protocol(security.request_timeout_seconds),
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        # A websocket message over the request limit is refused (close 1009) before it is buffered whole.
        "ws_max_size": security.max_request_bytes,
        "ws": AcceptedWebSocketProtocol,  # keeps no handshake headers for the socket's life
        # X-Forwarded-For is believed only from AIBT_FORWARDED_ALLOW_IPS, by the app (graphql_api/app.py):
        # uvicorn's own default would believe it from any local process.
        "proxy_headers": False,
        # Idle connections stay open longer than a load balancer's idle timeout (60 s is common), so the
        # server never closes a connection just as a client or proxy sends on it.
        "timeout_keep_alive": int(os.environ.get("AIBT_KEEP_ALIVE_SECONDS", "75")),
        # Off by default: compressing costs each websocket its own zlib state (most of an idle subscription's
        # memory) and every frame a compression per subscriber, while run events are a few hundred bytes
        # (README.md, Performance).
        "ws_per_message_deflate": _flag("AIBT_WS_PER_MESSAGE_DEFLATE", default=False),
    }


def _flag(name: str, *, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value not in ("0", "false", "no", "off")


@click.group()
def main() -> None:
    """AIBT: a GraphQL platform for AI trading agents."""


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default: $HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default: $PORT or 8080).")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="API processes sharing the port (more than one needs REDIS_URL).",
)
@click.option("--log-level", default="info", show_default=True)
def serve(host: str | None, port: int | None, workers: int, log_level: str) -> None:
    """Run the API server (embedded mode applies migrations on start)."""
    import uvicorn

    from db_models.log_context import configure_logging

    settings = get_settings()
    if workers > 1 and settings.is_embedded:
        raise click.ClickException(
            "--workers above 1 needs REDIS_URL: without it, runs, their events and subscriptions live inside "
            "one process, so another process would neither see nor deliver them. Set REDIS_URL and run "
            "`aibt worker`, or serve with one process."
        )
    configure_logging(log_level.upper())
    options = {
        "host": host or settings.host,
        "port": port or settings.port,
        "log_level": log_level,
        "log_config": None,
        **uvicorn_options(settings),
    }
    if workers == 1:
        from graphql_api.app import create_app

        uvicorn.run(create_app(settings), **options)
        return
    # Each process builds its own app from the same environment; the socket is shared, the kernel spreads
    # connections over the processes, and Redis carries every event to every process's subscribers.
    os.environ[SERVE_LOG_LEVEL] = log_level.upper()
    uvicorn.run("graphql_api.cli:served_app", factory=True, workers=workers, **options)


SERVE_LOG_LEVEL = "AIBT_SERVE_LOG_LEVEL"  # handed to the processes of `aibt serve --workers N`


def served_app() -> Any:
    """The app of one process of `aibt serve --workers N`, logging as the parent was told to."""
    from db_models.log_context import configure_logging
    from graphql_api.app import create_app

    configure_logging(os.environ.get(SERVE_LOG_LEVEL, "INFO"))
    return create_app()


@main.command()
@click.argument("names", nargs=-1)
@click.option("--host", default=None, help="Interface to listen on (default: $AIBT_TOOLS_HOST or 127.0.0.1).")
@click.option("--log-level", default="info", show_default=True)
def tools(names: tuple[str, ...], host: str | None, log_level: str) -> None:
    """Run the MCP tool servers (math, search, price, trade by default) in this process.

    Ports: math 8000, search 8001, price 8002, trade 8003, or $AIBT_<NAME>_PORT.
    """
    from db_models.log_context import configure_logging
    from tools.launcher import DEFAULT_PORTS, ToolServerError, serve_tool_servers

    unknown = [name for name in names if name not in DEFAULT_PORTS]
    if unknown:
        raise click.BadParameter(
            f"unknown tool server(s) {', '.join(unknown)}; choose from {', '.join(DEFAULT_PORTS)}."
        )
    configure_logging(log_level.upper())
    try:
        asyncio.run(serve_tool_servers(get_settings(), names or None, host=host))
    except ToolServerError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--processes", default=1, show_default=True, help="Worker processes.")
@click.option(
    "--threads",
    default=64,
    show_default=True,
    help="Runs each process holds at once (async runs share one event loop per process).",
)
def worker(processes: int, threads: int) -> None:
    """Take runs from the Redis broker (needs REDIS_URL). Same as `dramatiq tasks.actors`."""
    if not get_settings().redis_url:
        raise click.ClickException("aibt worker needs REDIS_URL; without it, aibt serve runs runs in its own process.")
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    arguments = ["tasks.actors", "--processes", str(processes), "--threads", str(threads)]
    sys.exit(dramatiq_main(make_argument_parser().parse_args(arguments)))


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema to the latest migration."""
    from db_models.config import apply_migrations

    asyncio.run(apply_migrations(get_settings().database_url))
    click.echo("Database is up to date.")


@main.group()
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--display-name", default=None)
@click.option("--admin", is_flag=True, help="Give the user the ADMIN role.")
def create_user(email: str, password: str, display_name: str | None, admin: bool) -> None:
    """Create a user (the approved-users list does not apply here)."""
    from graphql_api.accounts.commands import create_user_account
    from graphql_api.errors import AibtError

    try:
        user = asyncio.run(create_user_account(get_settings(), email, password, display_name, admin))
    except AibtError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created {user.role} {user.email}.")


@main.group()
def data() -> None:
    """Price data: import files, fetch from Alpha Vantage, load the shipped data."""


@data.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--interval",
    type=click.Choice(["DAY", "HOUR", "MINUTE"], case_sensitive=False),
    default=None,
    help="Bar interval of CSV files whose timestamps do not tell it.",
)
@click.option(
    "--timezone",
    default=EXCHANGE_TIMEZONE,
    show_default=True,
    help="Exchange time zone of timestamps without an offset.",
)
@click.option("--no-progress", is_flag=True, help="Do not show the progress bar.")
def import_prices(paths: tuple[Path, ...], interval: str | None, timezone: str, no_progress: bool) -> None:
    """Import Alpha Vantage-style JSON Lines or CSV (symbol,timestamp,open,high,low,close,volume) files.

    Every file is validated before anything is written; all bars are written in one transaction, and
    importing the same file again updates the same bars.
    """
    from db_models.price_files import PriceImportError
    from graphql_api.market.commands import import_price_files

    try:
        asyncio.run(
            import_price_files(
                get_settings(),
                list(paths),
                interval=interval,
                timezone=timezone,
                echo=click.echo,
                show_progress=not no_progress,
            )
        )
    except PriceImportError as exc:
        raise click.ClickException(f"{exc} (nothing was imported)") from None


def _symbols(symbols: tuple[str, ...], universe: str | None) -> tuple[str, ...]:
    from db_models.price_bars import clean_symbol
    from db_models.price_fetch.universes import get_universe

    chosen: list[str] = []
    if universe:
        try:
            listed = get_universe(universe)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--universe") from None
        click.echo(
            f"Universe {listed.name}: {len(listed.symbols)} symbols, {listed.description}, as of {listed.taken}."
        )
        chosen.extend(listed.symbols)
    for raw in symbols:
        try:
            chosen.append(clean_symbol(raw))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="SYMBOL") from None
    if not chosen:
        raise click.UsageError("Name at least one SYMBOL, or --universe NAME.")
    return tuple(dict.fromkeys(chosen))  # in order, once each


@data.command("fetch")
@click.argument("symbols", nargs=-1)
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First trading date wanted.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last trading date (default today).")
@click.option(
    "--interval",
    type=click.Choice(["DAY", "HOUR", "MINUTE"], case_sensitive=False),
    default="DAY",
    show_default=True,
    help="Daily bars, or 60-minute or 1-minute bars (month by month).",
)
@click.option("--universe", default=None, help="Add a named list of symbols: nasdaq100.")
@click.option("--no-actions", is_flag=True, help="Do not fetch splits and dividends.")
@click.option("--no-progress", is_flag=True, help="Do not show progress bars.")
def fetch_prices(
    symbols: tuple[str, ...],
    start: dt.datetime | None,
    end: dt.datetime | None,
    interval: str,
    universe: str | None,
    no_actions: bool,
    no_progress: bool,
) -> None:
    """Fetch bars, splits and dividends from Alpha Vantage (needs ALPHAVANTAGE_API_KEY).

    Only finished sessions that are neither stored nor already answered by Alpha Vantage are asked for:
    run it again (every evening) and it asks for what is new. Without --from, each symbol continues from
    its newest stored bar (with none: the last 100 sessions, or this month for intraday bars). Each
    symbol is written in one transaction: a symbol that fails writes nothing, and the others go on.
    """
    from db_models.market import PriceInterval
    from db_models.price_fetch.errors import MissingApiKey
    from db_models.price_fetch.planner import FetchRequest
    from graphql_api.market.commands import fetch_price_data

    if start and end and start > end:
        raise click.BadParameter("--from must not be after --to.", param_hint="--from")
    request = FetchRequest(
        symbols=_symbols(symbols, universe),
        interval=PriceInterval(interval.upper()),
        start=start.date() if start else None,
        end=end.date() if end else None,
        actions=not no_actions,
    )
    try:
        report = asyncio.run(fetch_price_data(get_settings(), request, echo=click.echo, show_progress=not no_progress))
    except MissingApiKey as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("Interrupted: the symbols finished so far are kept; run the same command to go on.", err=True)
        sys.exit(130)
    if not report.ok:
        raise click.ClickException(report.outcome())
    click.echo(report.outcome())


@data.command("seed")
@click.option("--force", is_flag=True, help="Load again even when the shipped data is there (adds what is missing).")
def seed_prices(force: bool) -> None:
    """Load the price data shipped with the installed packages (embedded serve does this on start)."""
    from graphql_api.market.commands import seed_prices as seed

    asyncio.run(seed(get_settings(), force=force, echo=click.echo))


@main.command("export-schema")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)
def export_schema(output: Path | None) -> None:
    """Print the served GraphQL schema in SDL."""
    from graphql_api.schema import schema

    sdl = str(schema) + "\n"
    if output is None:
        sys.stdout.write(sdl)
    else:
        output.write_text(sdl)


if __name__ == "__main__":
    main()
