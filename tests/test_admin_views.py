"""leaderboard, systemStats and systemStatus."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from db_models.accounts import User
from db_models.chat import ChatMessage, Conversation
from db_models.runs import EquityPoint, Run, RunStatus, TradingMode
from db_models.trading import TradingModel
from tests.support.run_helpers import tool_servers_for_runs

LEADERBOARD = """query($limit: Int) { leaderboard(limit: $limit) { rank totalReturn sharpeRatio maxDrawdown
  model { id name } run { id runNumber } owner { email } } }"""


async def _model_with_runs(email: str, name: str, returns: list[float]) -> TradingModel:
    owner = await User.get(email=email)
    model = await TradingModel.create(
        owner=owner,
        name=name,
        signature=name.lower(),
        allowed_tickers=["AAPL"],
        initial_cash=Decimal("10000"),
        ai_model="local/momentum",
    )
    for number, total_return in enumerate(returns, start=1):
        run = await Run.create(
            model=model,
            run_number=number,
            mode=TradingMode.DAILY,
            status=RunStatus.COMPLETED,
            final_return=total_return,
            max_drawdown=0.05,
            strategy_snapshot={"initial_cash": "10000.00", "allowed_tickers": ["AAPL"]},
        )
        values = [10000 * (1 + total_return * f) for f in (0.25, 0.2, 0.7, 1.0)]
        await EquityPoint.bulk_create(
            [
                EquityPoint(
                    run=run,
                    date=dt.date(2024, 1, 2 + i),
                    timestamp=dt.datetime(2024, 1, 2 + i, 14, 30, tzinfo=dt.UTC),
                    value=Decimal(str(round(v, 2))),
                    cash=Decimal("0"),
                )
                for i, v in enumerate(values)
            ]
        )
    return model


async def test_the_leaderboard_ranks_each_models_best_completed_run(api, admin, user, other_user):
    await _model_with_runs(user.email, "Alpha", [40.0, 55.0])
    await _model_with_runs(other_user.email, "Beta", [50.0])
    failed = await _model_with_runs(other_user.email, "Gamma", [99.0])
    await Run.filter(model=failed).update(status=RunStatus.FAILED)
    board = (await api.data(LEADERBOARD, {"limit": 2}, token=admin.token))["leaderboard"]
    assert [(e["rank"], e["model"]["name"], e["totalReturn"], e["owner"]["email"]) for e in board] == [
        (1, "Alpha", 55.0, user.email),
        (2, "Beta", 50.0, other_user.email),
    ]
    assert board[0]["run"]["runNumber"] == 2 and board[0]["sharpeRatio"] is not None
    assert board[0]["maxDrawdown"] == 0.05


async def test_admin_views_are_forbidden_to_users(api, user):
    assert await api.error_code(LEADERBOARD, token=user.token) == "FORBIDDEN"
    assert await api.error_code("{ systemStats { users } }", token=user.token) == "FORBIDDEN"
    assert await api.error_code(LEADERBOARD, {"limit": 0}, token=user.token) == "FORBIDDEN"


async def test_the_system_status_and_its_internal_addresses_are_for_admins_only(api, user):
    body = await api.execute("{ systemStatus { database workers toolServers { name url } } }", token=user.token)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert "127.0.0.1" not in json.dumps(body) and "/mcp" not in json.dumps(body)
    assert await api.error_code("{ systemStatus { database } }") == "UNAUTHENTICATED"


async def test_an_admin_document_with_several_root_fields_answers_every_one(api, admin):
    document = """{ users(first: 1) { totalCount } systemStats { users } leaderboard(limit: 1) { rank }
      systemStatus { database } me { role } a: users(first: 2) { totalCount } }"""
    data = await api.data(document, token=admin.token)
    assert data["users"]["totalCount"] == data["a"]["totalCount"] == data["systemStats"]["users"] >= 1
    assert data["systemStatus"]["database"] == "ok" and data["me"]["role"] == "ADMIN"
    assert isinstance(data["leaderboard"], list)


async def test_a_leaderboard_limit_out_of_range_is_bad_input(api, admin):
    assert await api.error_code(LEADERBOARD, {"limit": 101}, token=admin.token) == "BAD_USER_INPUT"


async def test_system_stats_count_everything(api, admin):
    stats = (
        await api.data("{ systemStats { users models runs runsByStatus conversations messages } }", token=admin.token)
    )["systemStats"]
    assert stats["users"] == await User.all().count()
    assert stats["models"] == await TradingModel.all().count()
    assert stats["runs"] == await Run.all().count() == sum(stats["runsByStatus"].values())
    assert set(stats["runsByStatus"]) == {s.value for s in RunStatus}
    assert stats["conversations"] == await Conversation.all().count()
    assert stats["messages"] == await ChatMessage.all().count()


async def test_system_status_reports_each_tool_server_and_the_embedded_worker(api, admin):
    query = """{ systemStatus { database broker pubsub workers queuedRuns runningRuns
      toolServers { name url healthy tools } } }"""
    async with tool_servers_for_runs() as urls:
        status = (await api.data(query, token=admin.token))["systemStatus"]
    assert status["database"] == "ok" and status["workers"] == 1
    assert status["broker"].startswith("embedded") and status["pubsub"].startswith("embedded")
    servers = {s["name"]: s for s in status["toolServers"]}
    assert {n: s["url"] for n, s in servers.items()} == urls
    assert all(s["healthy"] for s in servers.values())
    assert {"buy", "sell", "portfolio"} <= set(servers["trade"]["tools"])
    assert status["queuedRuns"] == await Run.filter(status=RunStatus.QUEUED).count()


async def test_a_silent_tool_server_is_reported_unhealthy(api, admin, monkeypatch):
    monkeypatch.setenv("AIBT_MATH_URL", "http://127.0.0.1:9/mcp")
    status = (await api.data("{ systemStatus { toolServers { name healthy tools } } }", token=admin.token))[
        "systemStatus"
    ]
    math = next(s for s in status["toolServers"] if s["name"] == "math")
    assert math == {"name": "math", "healthy": False, "tools": []}
