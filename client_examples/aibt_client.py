"""What the example scripts share: the operation documents, connection options, login and a GraphQL call.

The scripts run as files (`python client_examples/query_models.py ...`), so this module is imported
from the scripts' own folder. The operation documents live in `operations/`, one per file, named by
the operation they hold; the tests read the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

OPERATIONS_DIR = Path(__file__).resolve().parent / "operations"
DEFAULT_URL = "http://127.0.0.1:8080"


class GraphQLError(RuntimeError):
    """Raised when a response carries errors; `code` is the first error's extensions.code."""

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors
        first = errors[0] if errors else {}
        self.code = (first.get("extensions") or {}).get("code", "UNKNOWN")
        super().__init__(f"{self.code}: {first.get('message', 'unknown error')}")


def operation(name: str) -> str:
    """The document in operations/<name>.graphql."""
    return (OPERATIONS_DIR / f"{name}.graphql").read_text()


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """--url, and either a token (--token or $AIBT_TOKEN) or --email/--password (or $AIBT_EMAIL/$AIBT_PASSWORD)."""
    group = parser.add_argument_group("server and credentials")
    group.add_argument(
        "--url",
        default=os.environ.get("AIBT_URL", DEFAULT_URL),
        help=f"the API's base URL (default $AIBT_URL or {DEFAULT_URL})",
    )
    group.add_argument(
        "--token",
        default=os.environ.get("AIBT_TOKEN"),
        help="a bearer token (default $AIBT_TOKEN); otherwise log in with --email/--password",
    )
    group.add_argument("--email", default=os.environ.get("AIBT_EMAIL"), help="default $AIBT_EMAIL")
    group.add_argument(
        "--password",
        default=os.environ.get("AIBT_PASSWORD"),
        help="default $AIBT_PASSWORD (prefer the variable: arguments show in process lists)",
    )


def graphql_endpoint(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if base.endswith("/graphql") else f"{base}/graphql"


def websocket_endpoint(base_url: str) -> str:
    endpoint = graphql_endpoint(base_url)
    if endpoint.startswith("https://"):
        return "wss://" + endpoint.removeprefix("https://")
    return "ws://" + endpoint.removeprefix("http://")


class Client:
    """A synchronous GraphQL-over-HTTP client holding the bearer token."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30):
        self.base_url = base_url
        self.token = token
        self.http = httpx.Client(timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.http.close()

    def execute(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The response's data; raises GraphQLError when the response has errors."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.post(
            graphql_endpoint(self.base_url), headers=headers, json={"query": document, "variables": variables or {}}
        )
        try:
            body = response.json()
        except json.JSONDecodeError:
            response.raise_for_status()
            raise
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]

    def login(self, email: str, password: str) -> str:
        self.token = self.execute(operation("login"), {"email": email, "password": password})["login"]["token"]
        return self.token


def connect(args: argparse.Namespace) -> Client:
    """A client for args.url, authenticated with args.token or by logging in; exits with a message if neither."""
    client = Client(args.url, args.token)
    if client.token:
        return client
    if not (args.email and args.password):
        sys.exit("Give a token (--token or $AIBT_TOKEN) or --email and --password.")
    client.login(args.email, args.password)
    return client
