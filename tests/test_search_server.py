"""The search tool server against a local fake of Jina's search API, seen from each run's clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from db_models.runs import Run, RunStatus
from db_models.settings import get_settings
from tests.support.server import running_server
from tests.support.tool_servers import call_text, create_running_run, mcp_client, running_tool_servers, session_tools

CLOCK = datetime(2024, 1, 5, 14, 30, tzinfo=UTC)

RESULTS = [
    {
        "title": "Apple beats estimates",
        "url": "https://news.example/old",
        "description": "Old news.",
        "publishedTime": "2024-01-02T15:00:00Z",
    },
    {
        "title": "Apple guidance raised",
        "url": "https://news.example/day-before",
        "description": "Day before.",
        "date": "2024-01-04",
    },
    {
        "title": "Apple falls after the bell",
        "url": "https://news.example/later-today",
        "description": "Later today.",
        "publishedTime": "2024-01-05T21:00:00+00:00",
    },
    {
        "title": "Apple closes the week",
        "url": "https://news.example/same-day",
        "description": "Same day, no time.",
        "date": "Jan 5, 2024",
    },
    {
        "title": "Apple in 2025",
        "url": "https://news.example/next-year",
        "description": "Next year.",
        "publishedTime": "2025-03-01T00:00:00Z",
    },
    {"title": "Apple company profile", "url": "https://news.example/undated", "description": "No date at all."},
]


@dataclass
class FakeJina:
    url: str
    requests: list[dict] = field(default_factory=list)


@pytest_asyncio.fixture(scope="module")
async def fake_jina() -> AsyncIterator[FakeJina]:
    recorded: list[dict] = []

    async def search(request: Request):
        query = request.query_params.get("q", "")
        recorded.append(
            {"q": query, "authorization": request.headers.get("authorization"), "accept": request.headers.get("accept")}
        )
        if "slow" in query:
            await asyncio.sleep(3)
        if "broken" in query:
            return PlainTextResponse("upstream exploded", status_code=502)
        if "unauthorised" in query:
            return JSONResponse({"code": 401, "message": "bad key"}, status_code=401)
        if "garbled" in query:
            return PlainTextResponse("<html>not json</html>")
        return JSONResponse({"code": 200, "status": 20000, "data": RESULTS})

    async with running_server(Starlette(routes=[Route("/", search)])) as base:
        yield FakeJina(url=f"{base}/", requests=recorded)


@pytest_asyncio.fixture(scope="module")
async def search_url(server_url) -> AsyncIterator[str]:  # server_url: the database is set up
    async with running_tool_servers("search") as urls:
        yield urls["search"]


@pytest.fixture
def jina(fake_jina, monkeypatch) -> FakeJina:
    """Search configured with a key and pointed at the fake."""
    monkeypatch.setenv("JINA_API_KEY", "test-key")
    monkeypatch.setenv("AIBT_JINA_SEARCH_URL", fake_jina.url)
    monkeypatch.setenv("AIBT_JINA_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    fake_jina.requests.clear()
    yield fake_jina
    monkeypatch.undo()
    get_settings.cache_clear()


async def search(search_url: str, credential: str | None, tool: str = "search_news", **arguments) -> str:
    async with session_tools(mcp_client({"search": search_url}, credential), "search") as tools:
        return await call_text(tools[tool], **arguments)


async def test_news_is_what_was_published_before_the_runs_clock(settings, search_url, jina):
    run = await create_running_run(settings, clock_at=CLOCK)
    answer = await search(search_url, run.credential, ticker_or_topic="AAPL", max_results=10)
    assert "Apple beats estimates (2024-01-02)" in answer and "https://news.example/old" in answer
    assert "Apple guidance raised" in answer
    for hidden in ("after the bell", "closes the week", "in 2025", "company profile"):
        assert hidden not in answer, answer
    assert "2 shown; dropped 3 dated after the run's clock and 1 undated (the run is a backtest)" in answer
    assert "as of 2024-01-05 14:30 UTC" in answer
    assert jina.requests == [
        {"q": "AAPL stock market news", "authorization": "Bearer test-key", "accept": "application/json"}
    ]


async def test_web_search_filters_the_same_way_and_limits_the_results(settings, search_url, jina):
    run = await create_running_run(settings, clock_at=datetime(2026, 1, 1, tzinfo=UTC))
    answer = await search(search_url, run.credential, tool="search_web", query="  apple   outlook ", max_results=3)
    assert answer.startswith('Search results for "apple outlook"')
    assert "3 shown; dropped 1 undated (the run is a backtest)" in answer
    assert "company profile" not in answer
    assert jina.requests[0]["q"] == "apple outlook"


async def test_a_run_whose_clock_is_not_behind_now_keeps_undated_results(settings, search_url, jina):
    run = await create_running_run(settings, clock_at=datetime.now(UTC) + timedelta(hours=1))
    answer = await search(search_url, run.credential, tool="search_web", query="apple", max_results=10)
    assert "Apple company profile" in answer
    assert "dropped" not in answer


async def test_each_run_sees_only_its_own_clock(settings, search_url, jina):
    early = await create_running_run(settings, clock_at=datetime(2024, 1, 3, 10, tzinfo=UTC))
    late = await create_running_run(settings, clock_at=datetime(2025, 6, 1, tzinfo=UTC))

    async def many(credential: str) -> list[str]:
        async with session_tools(mcp_client({"search": search_url}, credential), "search") as tools:
            return [await call_text(tools["search_news"], ticker_or_topic="AAPL", max_results=10) for _ in range(3)]

    early_answers, late_answers = await asyncio.gather(many(early.credential), many(late.credential))
    for answer in early_answers:
        assert "1 shown; dropped 4 dated after the run's clock and 1 undated" in answer
        assert "Apple in 2025" not in answer and "guidance raised" not in answer
    for answer in late_answers:
        assert "5 shown; dropped 1 undated" in answer
        assert "Apple in 2025" in answer


async def test_without_a_key_search_says_it_is_offline(settings, search_url, fake_jina, monkeypatch):
    monkeypatch.delenv("JINA_API_KEY", raising=False)
    monkeypatch.setenv("AIBT_JINA_SEARCH_URL", fake_jina.url)
    get_settings.cache_clear()
    fake_jina.requests.clear()
    try:
        run = await create_running_run(settings, clock_at=CLOCK)
        answer = await search(search_url, run.credential, ticker_or_topic="AAPL")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert answer.startswith("Search is offline")
    assert fake_jina.requests == []


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("slow", "timed out after 1 s"),
        ("broken", "answered HTTP 502"),
        ("unauthorised", "rejected the API key (HTTP 401)"),
        ("garbled", "not JSON"),
    ],
)
async def test_search_failures_are_readable_answers(settings, search_url, jina, query, reason):
    run = await create_running_run(settings, clock_at=CLOCK)
    answer = await search(search_url, run.credential, tool="search_web", query=query)
    assert answer.startswith("Refused:") and reason in answer, answer


async def test_an_unreachable_search_service_is_a_readable_answer(settings, search_url, jina, monkeypatch):
    monkeypatch.setenv("AIBT_JINA_SEARCH_URL", "http://127.0.0.1:9/")
    run = await create_running_run(settings, clock_at=CLOCK)
    answer = await search(search_url, run.credential, tool="search_web", query="apple")
    assert answer.startswith("Refused: the search service is unreachable")


def forged_credential(run_id: int) -> str:
    now = datetime.now(UTC)
    claims = {"run": run_id, "iat": now, "exp": now + timedelta(hours=1), "iss": "aibt", "aud": "aibt-tools"}
    return jwt.encode(claims, "a-forger-who-does-not-know-the-server-secret-0123456789", algorithm="HS256")


async def test_search_refuses_calls_without_a_valid_credential_of_a_running_run(settings, search_url, jina):
    run = await create_running_run(settings, clock_at=CLOCK)
    finished = await create_running_run(settings, clock_at=CLOCK)
    await Run.filter(id=finished.run.id).update(status=RunStatus.COMPLETED, ended_at=datetime.now(UTC))

    missing = await search(search_url, None, ticker_or_topic="AAPL")
    forged = await search(search_url, forged_credential(run.run.id), ticker_or_topic="AAPL")
    closed = await search(search_url, finished.credential, ticker_or_topic="AAPL")

    assert missing == "Refused: This tool needs a run credential; none was sent."
    assert forged.startswith("Refused: The run credential is not valid")
    assert closed == "Refused: This run is not running; its tools are closed."
    assert jina.requests == []
