"""A small models page through the benchmark's own code (tests/benchmarks/test_models_page.py), so that the
benchmark cannot rot: its statement count stays within the bound, and the API answers what the bare
Starlette + asyncpg endpoint answers (on PostgreSQL; on SQLite, what db_models.metrics makes of each run)."""

from __future__ import annotations

import httpx

from db_models.accounts import User
from db_models.metrics import run_performance
from db_models.runs import Run
from tests.benchmarks.test_models_page import MAX_STATEMENTS, bare_app, page_statements
from tests.support.databases import backend
from tests.support.model_pages import seed_model_page
from tests.support.server import running_server

MODELS = 5


async def _expected_by_metrics(models) -> dict:
    edges = []
    for model in reversed(models):  # the page is newest first
        latest = await Run.filter(model_id=model.id).order_by("-run_number").first()
        completed = await Run.filter(model_id=model.id, status="COMPLETED").order_by("-run_number").first()
        figures = await run_performance(completed)
        edges.append(
            {
                "node": {
                    "owner": {"email": (await User.get(id=model.owner_id)).email},
                    "latestRun": {"status": latest.status.value, "finalReturn": latest.final_return},
                    "performance": {
                        "totalReturn": figures.total_return,
                        "sharpeRatio": figures.sharpe_ratio,
                        "maxDrawdown": figures.max_drawdown,
                    },
                }
            }
        )
    return {"models": {"edges": edges}}


async def _expected_by_bare_endpoint(token: str) -> dict:
    async with running_server(bare_app()) as url, httpx.AsyncClient(timeout=30) as http:
        response = await http.get(
            f"{url}/models", params={"first": MODELS}, headers={"Authorization": f"Bearer {token}"}
        )
    return response.json()["data"]


async def test_the_models_page_benchmark_on_a_small_page(api, signup):
    account = await signup("smoke")
    models = await seed_model_page(await User.get(email=account.email), MODELS, days=8, prefix="smoke")
    cold, answer = await page_statements(api, MODELS, account.token)
    warm, again = await page_statements(api, MODELS, account.token)
    assert warm <= cold <= MAX_STATEMENTS
    assert again == answer
    # Each of the seeded kinds is on the page: a newer failed run, an intraday run, snapshot cash and model cash.
    assert {edge["node"]["latestRun"]["status"] for edge in answer["models"]["edges"]} == {"COMPLETED", "FAILED"}
    if backend() == "postgres":
        assert answer == await _expected_by_bare_endpoint(account.token)
    assert answer == await _expected_by_metrics(models)
