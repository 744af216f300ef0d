"""The search tool server: market news and web search through Jina, seen from the run's clock.

Every call belongs to a run (its credential is on the connection). A result dated after the run's
simulated now is dropped; in a backtest (the run's clock is behind the real now, as for every run
here) a result with no date is dropped too, since it might come from the run's future. A result
dated with a day but no time counts as published at the end of that day. The answer says how many
results were dropped and why.

Without JINA_API_KEY the tools answer that search is offline. Set AIBT_JINA_SEARCH_URL to use
another endpoint speaking Jina's search API (tests point it at a local fake).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
from mcp.server.fastmcp import Context, FastMCP

from db_models.runs import Run
from db_models.settings import get_settings
from tools.http_clients import http_client
from tools.run_context import ToolRefusal, add_tools, current_run

DEFAULT_SEARCH_URL = "https://s.jina.ai/"
DEFAULT_TIMEOUT_SECONDS = 20.0
MAX_RESULTS = 10
SNIPPET_CHARS = 400
QUERY_CHARS = 300

_DATE_KEYS = ("publishedTime", "published_time", "publishedDate", "published_date", "date")
_DAY_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%Y/%m/%d")


def search_url() -> str:
    return os.environ.get("AIBT_JINA_SEARCH_URL") or DEFAULT_SEARCH_URL


def search_timeout() -> float:
    return float(os.environ.get("AIBT_JINA_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS)


@dataclass(frozen=True)
class SearchResult:
    title: str
    url: str
    snippet: str
    published: datetime | None  # the latest moment it may have been published, in UTC


def published_at(item: dict[str, Any]) -> datetime | None:
    """When a result was published, from the first date field that parses; None when undated.

    A date without a time is taken as the end of that day, so a run never sees a story from later
    the same day.
    """
    for key in _DATE_KEYS:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            moment = _parse_moment(value.strip())
            if moment is not None:
                return moment
    return None


def _parse_moment(value: str) -> datetime | None:
    try:
        if len(value) == 10:
            return _end_of_day(date.fromisoformat(value))
        moment = datetime.fromisoformat(value)
    except ValueError:
        for pattern in _DAY_FORMATS:
            try:
                return _end_of_day(datetime.strptime(value, pattern).date())
            except ValueError:
                continue
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


@dataclass(frozen=True)
class Visible:
    results: list[SearchResult]
    future: int
    undated: int


def visible_from(results: list[SearchResult], clock_at: datetime, *, backtest: bool) -> Visible:
    """The results a run may see at its clock, and how many were dropped for each reason."""
    kept, future, undated = [], 0, 0
    for result in results:
        if result.published is None:
            if backtest:
                undated += 1
                continue
        elif result.published > clock_at:
            future += 1
            continue
        kept.append(result)
    return Visible(kept, future, undated)


async def fetch_results(query: str, api_key: str) -> list[SearchResult]:
    """Jina's answer to a query; ToolRefusal with a readable reason when it cannot be had."""
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json", "X-Respond-With": "no-content"}
    timeout = search_timeout()
    try:
        async with http_client(timeout=timeout) as http:
            response = await http.get(search_url(), params={"q": query}, headers=headers)
            response.raise_for_status()
            body = response.json()
    except httpx.TimeoutException:
        raise ToolRefusal(f"search timed out after {timeout:g} s; try again later or decide without it.") from None
    except httpx.HTTPStatusError as exc:
        raise ToolRefusal(_status_reason(exc.response.status_code)) from None
    except httpx.RequestError as exc:
        raise ToolRefusal(f"the search service is unreachable ({type(exc).__name__}); decide without it.") from None
    except ValueError:
        raise ToolRefusal("the search service sent an answer that is not JSON; decide without it.") from None
    items = body.get("data") if isinstance(body, dict) else None
    return [_result(item) for item in items or [] if isinstance(item, dict)]


def _status_reason(status: int) -> str:
    if status in (401, 403):
        return f"the search service rejected the API key (HTTP {status}); search is unavailable."
    if status == 429:
        return "the search service is rate limiting (HTTP 429); try again later or decide without it."
    return f"the search service answered HTTP {status}; try again later or decide without it."


def _result(item: dict[str, Any]) -> SearchResult:
    snippet = str(item.get("description") or item.get("content") or "").strip()
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[:SNIPPET_CHARS].rstrip() + "…"
    return SearchResult(
        title=str(item.get("title") or "(untitled)").strip(),
        url=str(item.get("url") or ""),
        snippet=snippet,
        published=published_at(item),
    )


def render(query: str, clock_at: datetime, visible: Visible, limit: int) -> str:
    shown = visible.results[:limit]
    head = f'Search results for "{query}" as of {clock_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC'
    dropped = []
    if visible.future:
        dropped.append(f"{visible.future} dated after the run's clock")
    if visible.undated:
        dropped.append(f"{visible.undated} undated (the run is a backtest)")
    note = f"; dropped {' and '.join(dropped)}" if dropped else ""
    lines = [f"{head} ({len(shown)} shown{note}):"]
    if not shown:
        lines.append("No results visible at this time.")
    for number, result in enumerate(shown, 1):
        day = f" ({result.published:%Y-%m-%d})" if result.published else ""
        lines.append(f"{number}. {result.title}{day}")
        if result.url:
            lines.append(f"   {result.url}")
        if result.snippet:
            lines.append(f"   {result.snippet}")
    return "\n".join(lines)


async def search_for_run(run: Run, query: str, max_results: int) -> str:
    query = " ".join(query.split())
    if not query:
        raise ToolRefusal("the query is empty.")
    if len(query) > QUERY_CHARS:
        raise ToolRefusal(f"the query is longer than {QUERY_CHARS} characters.")
    api_key = get_settings().jina_api_key
    if not api_key:
        return "Search is offline: no search API key is configured. Decide from prices and your own analysis."
    limit = max(1, min(int(max_results), MAX_RESULTS))
    clock_at = run.clock_at
    # Every run is simulated: its clock behind the real now means the future is on the web already.
    backtest = clock_at < datetime.now(UTC)
    results = await fetch_results(query, api_key)
    return render(query, clock_at, visible_from(results, clock_at, backtest=backtest), limit)


async def search_news(ticker_or_topic: str, ctx: Context, max_results: int = 5) -> str:
    """Market news about a stock ticker or a market topic, as known at the run's current time.

    Stories published after the run's current simulated time are never shown; during a backtest,
    stories without a publication date are left out too. Each result gives title, date, link and a
    short summary.

    Args:
        ticker_or_topic: a ticker such as "AAPL" or a topic such as "Federal Reserve rate decision".
        max_results: how many stories to show, 1 to 10 (default 5).
    """
    run = await current_run(ctx)
    return await search_for_run(run, f"{ticker_or_topic} stock market news", max_results)


async def search_web(query: str, ctx: Context, max_results: int = 5) -> str:
    """Search the web, as known at the run's current time (nothing published later is shown).

    During a backtest, pages without a publication date are left out. Each result gives title,
    date, link and a short summary.

    Args:
        query: what to search for, in plain words (at most 300 characters).
        max_results: how many results to show, 1 to 10 (default 5).
    """
    run = await current_run(ctx)
    return await search_for_run(run, query, max_results)


def create_server() -> FastMCP:
    server = FastMCP(
        "aibt-search",
        instructions="Market news and web search, limited to what was published before the run's current time.",
    )
    return add_tools(server, (search_news, search_web))
