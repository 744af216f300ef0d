"""The `aibt` command: serve, tools, migrate, users create, export-schema."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from db_models.settings import get_settings


@click.group()
def main() -> None:
    """AIBT: a GraphQL platform for AI trading agents."""


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default: $HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default: $PORT or 8080).")
@click.option("--log-level", default="info", show_default=True)
def serve(host: str | None, port: int | None, log_level: str) -> None:
    """Run the API server (embedded mode applies migrations on start)."""
    import uvicorn

    from graphql_api.app import create_app
    from graphql_api.logs import configure_logging

    settings = get_settings()
    configure_logging(log_level.upper())
    uvicorn.run(
        create_app(settings), host=host or settings.host, port=port or settings.port,
        log_level=log_level, log_config=None,
    )


@main.command()
@click.argument("names", nargs=-1)
@click.option("--host", default=None, help="Interface to listen on (default: $AIBT_TOOLS_HOST or 127.0.0.1).")
@click.option("--log-level", default="info", show_default=True)
def tools(names: tuple[str, ...], host: str | None, log_level: str) -> None:
    """Run the MCP tool servers (math, search, price, trade by default) in this process.

    Ports: math 8000, search 8001, price 8002, trade 8003, or $AIBT_<NAME>_PORT.
    """
    from graphql_api.logs import configure_logging
    from tools.launcher import DEFAULT_PORTS, ToolServerError, serve_tool_servers

    unknown = [name for name in names if name not in DEFAULT_PORTS]
    if unknown:
        raise click.BadParameter(f"unknown tool server(s) {', '.join(unknown)}; choose from {', '.join(DEFAULT_PORTS)}.")
    configure_logging(log_level.upper())
    try:
        asyncio.run(serve_tool_servers(get_settings(), names or None, host=host))
    except ToolServerError as exc:
        raise click.ClickException(str(exc)) from None


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


@main.command("export-schema")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
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
