"""Session fixtures: a fresh database (SQLite or PostgreSQL), the real app on a loopback port, clients."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from db_models.config import apply_migrations
from db_models.settings import Settings, get_settings, load_settings
from tests.support import databases
from tests.support.fake_openai import FakeOpenAI, running_fake_openai, trade_one_share
from tests.support.graphql_client import GraphQLClient
from tests.support.server import running_server

# Fixtures shared by several test modules: `market` (a small price market), `limits` (security limits),
# `chromium` and `browser` (the single-page app tests).
pytest_plugins = ["tests.support.run_helpers", "tests.support.security", "tests.support.spa"]

SIGNUP = """
mutation Signup($email: String!, $password: String!, $displayName: String) {
  signup(email: $email, password: $password, displayName: $displayName) {
    token expiresAt user { id email role displayName }
  }
}"""
PASSWORD = "correct horse battery"


@dataclass
class Account:
    token: str
    id: str
    email: str
    password: str = PASSWORD


def pytest_report_header() -> str:
    return f"aibt test database: {databases.backend()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the suite once per database; a test marked database_independent (the browser app, an
    embedded server on its own SQLite file, the websocket machinery) would do the same thing twice, so it
    runs in the SQLite pass only."""
    if databases.backend() != "postgres":
        return
    kept = [item for item in items if item.get_closest_marker("database_independent") is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest_asyncio.fixture(scope="session")
async def fake_llm() -> AsyncIterator[FakeOpenAI]:
    """The OpenAI-compatible endpoint remote models reach in this session; tests set its policy."""
    async with running_fake_openai() as fake:
        yield fake


@pytest.fixture
def remote_llm(fake_llm: FakeOpenAI) -> FakeOpenAI:
    """The session's fake endpoint, reset to its default behaviour for one test."""
    fake_llm.policy, fake_llm.fail_status, fake_llm.delay_seconds = trade_one_share, None, 0.0
    fake_llm.token_delay_seconds = 0.0
    fake_llm.requests.clear()
    fake_llm.usage_reports.clear()
    return fake_llm


@pytest_asyncio.fixture(scope="session")
async def settings(fake_llm: FakeOpenAI) -> AsyncIterator[Settings]:
    data_dir = Path(tempfile.mkdtemp(prefix="aibt-test-"))
    database_url, pg_name = await databases.create_database(data_dir)
    # AIBT_START_TOOLS=0: the test API runs no tool servers of its own (in memory); tests that need them start
    # them on free ports (tests/support/tool_servers.py). AIBT_SEED_PRICES=0: the session database starts
    # with no price bars (tests add and remove the bars they need).
    os.environ.update(
        {
            "AIBT_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "AIBT_ENV": "test",
            "AIBT_START_TOOLS": "0",
            "AIBT_SEED_PRICES": "0",
            "OPENAI_API_BASE": fake_llm.base_url,
            "OPENAI_API_KEY": "test-key",
        }
    )
    # Every test client connects from 127.0.0.1: per-address limits this session are wide (tests of the
    # limits themselves set small ones on the running app); per-user and per-email limits keep their defaults.
    # Websockets and query cost per address too.
    os.environ.update(
        {f"AIBT_RATE_LIMIT_{action}_IP": "100000/60" for action in ("LOGIN", "SIGNUP", "START_RUN", "SEND_MESSAGE")}
    )
    os.environ["AIBT_WS_MAX_CONNECTIONS_PER_ADDRESS"] = "100000"
    os.environ["AIBT_RATE_LIMIT_QUERY_COST_IP"] = "1000000000/60"
    for variable in ("REDIS_URL", "AIBT_APPROVED_USERS", "AIBT_JWT_SECRET"):
        os.environ.pop(variable, None)
    get_settings.cache_clear()  # processes-wide settings (tool servers, workers) must see these too
    await apply_migrations(database_url)
    try:
        yield load_settings()
    finally:
        await databases.drop_database(pg_name)


@pytest_asyncio.fixture(scope="session")
async def app(settings: Settings):
    """The session's app; tests read and (temporarily) change its security limits through app.state.security."""
    from graphql_api.app import create_app

    return create_app(settings)


@pytest_asyncio.fixture(scope="session")
async def server_url(app) -> AsyncIterator[str]:
    async with running_server(app) as url:
        yield url


@pytest_asyncio.fixture(scope="session")
async def api(server_url: str) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as http:
        yield GraphQLClient(http)


@pytest.fixture
def ws_url(server_url: str) -> str:
    return server_url.replace("http://", "ws://") + "/graphql"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


async def signed_up(api: GraphQLClient, prefix: str = "user") -> Account:
    """A new account, signed up over the API (for module-scoped fixtures, which cannot use `signup`)."""
    email = unique_email(prefix)
    data = await api.data(SIGNUP, {"email": email, "password": PASSWORD})
    return Account(token=data["signup"]["token"], id=data["signup"]["user"]["id"], email=email)


@pytest_asyncio.fixture
async def signup(api: GraphQLClient):
    async def make(prefix: str = "user", display_name: str | None = None) -> Account:
        email = unique_email(prefix)
        data = await api.data(SIGNUP, {"email": email, "password": PASSWORD, "displayName": display_name})
        payload = data["signup"]
        return Account(token=payload["token"], id=payload["user"]["id"], email=email)

    return make


@pytest_asyncio.fixture
async def user(signup) -> Account:
    return await signup("alice")


@pytest_asyncio.fixture
async def other_user(signup) -> Account:
    return await signup("mallory")


@pytest_asyncio.fixture
async def admin(signup) -> Account:
    """An admin made the way an operator would: promoted in the database (as `aibt users create --admin` does)."""
    from db_models.accounts import Role, User

    account = await signup("admin")
    await User.filter(email=account.email).update(role=Role.ADMIN)
    return account
