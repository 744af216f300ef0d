"""Nested fields are batched: the SQL a page costs does not grow with the page."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from db_models.accounts import User
from db_models.metrics import run_performance
from db_models.runs import Run
from db_models.trading import TradingModel
from graphql_api.runs.loaders import curve_performance_by_run, performance_by_run
from graphql_api.runs.performance_cache import finished_run_figures
from graphql_api.trading_models.loaders import latest_position_by_run, run_heads_by_model
from tests.support.model_pages import PAGE_QUERY as MODELS_PAGE
from tests.support.model_pages import seed_model_page
from tests.support.queries import count_sql, new_request_id

PAGE = "query($first: Int) { models(first: $first) { totalCount edges { node { id name owner { id email role } } } } }"
TRADE_PAGES = {
    "fields": "query($first: Int) { models(first: $first) { edges { node { performance { winRate totalTrades "
    "totalReturn } } } } }",
    "fragment": "query($first: Int) { models(first: $first) { edges { node { performance { ...F totalReturn } } } } } "
    "fragment F on Performance { winRate totalTrades }",
}
ALL_PAGE = "query($first: Int) { allModels(first: $first) { edges { node { id owner { email } } } } }"


async def _add_models(owner: User, count: int) -> None:
    await TradingModel.bulk_create(
        [
            TradingModel(
                owner=owner,
                name=f"bulk {i}",
                signature=f"bulk-{i}",
                allowed_tickers=["AAPL"],
                initial_cash=Decimal("10000"),
                ai_model="local/momentum",
                parameters={},
            )
            for i in range(count)
        ]
    )


async def _statements(api, query: str, first: int, token: str) -> int:
    request_id = new_request_id()
    with count_sql(request_id) as statements:
        data = await api.data(query, {"first": first}, token=token, request_id=request_id)
    assert len(next(iter(data.values()))["edges"]) == first
    return len(statements)


async def test_a_page_of_50_models_with_owners_costs_the_same_sql_as_a_page_of_1(api, user):
    await _add_models(await User.get(email=user.email), 50)
    one = await _statements(api, PAGE, 1, user.token)
    fifty = await _statements(api, PAGE, 50, user.token)
    # the caller and its token's revocation + count + page; the owner is the caller, read by the authentication
    assert fifty == one <= 3


async def test_admin_pages_over_many_owners_batch_their_owner_lookups(api, admin, signup):
    for _ in range(5):
        account = await signup("owner")
        await _add_models(await User.get(email=account.email), 10)
    one = await _statements(api, ALL_PAGE, 1, admin.token)
    fifty = await _statements(api, ALL_PAGE, 50, admin.token)
    assert fifty == one <= 5


async def _page_statements(api, first: int, token: str) -> tuple[int, list[dict]]:
    request_id = new_request_id()
    with count_sql(request_id) as statements:
        data = await api.data(MODELS_PAGE, {"first": first}, token=token, request_id=request_id)
    edges = data["models"]["edges"]
    assert len(edges) == first
    return len(statements), [edge["node"] for edge in edges]


async def test_a_page_of_50_models_with_latest_runs_and_performance_costs_the_same_sql_as_a_page_of_1(api, user):
    owner = await User.get(email=user.email)
    models = await seed_model_page(owner, 50)
    one, _ = await _page_statements(api, 1, user.token)
    fifty, nodes = await _page_statements(api, 50, user.token)
    print(f"\nmodels page with owner, latestRun and performance: {one} SQL statements for 1 model, {fifty} for 50")
    # the caller and its token's revocation + page + latest and latest completed runs + equity points (no
    # figure asked for needs the runs' actions; the models' cash comes with the page; no totalCount, no count)
    assert fifty == one == 4
    again, _ = await _page_statements(api, 50, user.token)
    assert again == 3  # the finished runs' figures are made once

    for model, node in zip(reversed(models), nodes, strict=True):  # the page is newest first
        latest = await Run.filter(model_id=model.id).order_by("-run_number").first()
        completed = await Run.filter(model_id=model.id, status="COMPLETED").order_by("-run_number").first()
        expected = await run_performance(completed)
        assert node["owner"] == {"email": user.email}
        assert node["latestRun"] == {"status": latest.status.value, "finalReturn": latest.final_return}
        assert node["performance"] == {
            "totalReturn": expected.total_return,
            "sharpeRatio": expected.sharpe_ratio,
            "maxDrawdown": expected.max_drawdown,
        }


async def test_asking_for_figures_made_from_trades_adds_one_statement_whatever_the_page(api, user):
    owner = await User.get(email=user.email)
    models = await seed_model_page(owner, 50, days=5, prefix="trades")
    counts = {}
    for name, query in TRADE_PAGES.items():
        for model in models:  # each document's first request makes the figures anew
            finished_run_figures.forget_model(model.id)
        for first in (1, 50, 50):
            request_id = new_request_id()
            with count_sql(request_id) as statements:
                data = await api.data(query, {"first": first}, token=user.token, request_id=request_id)
            counts.setdefault(name, []).append(len(statements))
        for model, edge in zip(reversed(models), data["models"]["edges"], strict=True):
            completed = await Run.filter(model_id=model.id, status="COMPLETED").order_by("-run_number").first()
            expected = await run_performance(completed)
            assert edge["node"]["performance"] == {
                "winRate": expected.win_rate,
                "totalTrades": expected.total_trades,
                "totalReturn": expected.total_return,
            }
            assert expected.total_trades > 0 and expected.win_rate is not None
    print(f"\nmodels page asking for winRate and totalTrades: {counts}")
    # the caller + page + latest runs + equity points + positions; then the finished runs' figures are kept
    assert counts == {name: [5, 5, 3] for name in TRADE_PAGES}


async def test_batched_performance_equals_run_performance_for_every_run(api, user):
    owner = await User.get(email=user.email)
    models = await seed_model_page(owner, 14, days=7, prefix="figures")
    runs = await Run.filter(model_id__in=[m.id for m in models]).order_by("id")
    assert {r.mode.value for r in runs} == {"DAILY", "INTRADAY"} and any(r.status == "FAILED" for r in runs)
    with count_sql() as statements:
        batched = await performance_by_run([*runs, runs[0]])  # a repeated run is answered twice
    assert len(statements) == 3  # equity points, positions, the cash of models whose runs' snapshots lack it
    expected = [await run_performance(run) for run in runs]
    assert batched == [*expected, expected[0]]
    curve_expected = [
        None if figures is None else replace(figures, win_rate=None, total_trades=0) for figures in expected
    ]
    with count_sql() as statements:
        kept = await curve_performance_by_run([run for run in runs if run.strategy_snapshot])
    assert len(statements) == 1  # the failed runs' (missing) points: the finished runs' figures are kept
    assert kept == [figures for run, figures in zip(runs, curve_expected, strict=True) if run.strategy_snapshot]
    for model in models:
        finished_run_figures.forget_model(model.id)
    with count_sql() as statements:
        curve_only = await curve_performance_by_run(runs)
    assert len(statements) == 2  # no actions read
    assert curve_only == curve_expected
    assert sum(figures is None for figures in batched) == sum(r.status == "FAILED" for r in runs) > 0


async def test_the_latest_run_loaders_return_one_run_per_model(user):
    owner = await User.get(email=user.email)
    models = await seed_model_page(owner, 4, days=2, prefix="latest")
    ids = [m.id for m in models] + [0]
    with count_sql() as statements:
        heads = await run_heads_by_model(ids)
    assert len(statements) == 1
    latest, completed = [h.latest for h in heads], [h.latest_completed for h in heads]
    assert [r and (r.model_id, r.run_number, r.status.value) for r in latest] == [
        (models[0].id, 3, "FAILED"),
        (models[1].id, 2, "COMPLETED"),
        (models[2].id, 2, "COMPLETED"),
        (models[3].id, 3, "FAILED"),
        None,
    ]
    assert [r and (r.model_id, r.run_number) for r in completed] == [(m.id, 2) for m in models] + [None]
    assert " IN " in statements[0] and "MAX(" in statements[0].upper()
    positions = await latest_position_by_run([r.id for r in completed[:-1]])
    assert [p.action_id for p in positions] == [6, 6, 6, 6]
