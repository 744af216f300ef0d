"""Runs end to end in embedded mode: start over GraphQL, follow over a websocket, read the results."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from db_models.runs import EquityPoint, Position, ReasoningLog, Run, RunStatus
from tests.support import price_fixtures as px
from tests.support.run_helpers import (
    START_DAILY,
    follow_run,
)

DAYS = px.trading_days()
CREATE = """mutation($input: CreateModelInput!) { createModel(input: $input) { id } }"""
RUN = """query($id: ID!) { run(id: $id) {
  id runNumber status error totalTrades finalReturn finalPortfolioValue maxDrawdown startedAt endedAt
  progress { current total currentDate } usage { llmCalls inputTokens outputTokens }
  positions(first: 100) { totalCount edges { node { actionId action symbol amount price holdings cash date } } }
  logs(first: 50) { totalCount edges { node { date messages } } }
  equityCurve { date value cash }
  performance { initialValue finalValue totalReturn maxDrawdown totalTrades tradingDays sharpeRatio }
  model { id name } } }"""


async def make_model(api, account, ai_model="local/buy-and-hold", tickers=(px.SYMBOL, px.OTHER)) -> str:
    data = await api.data(
        CREATE,
        {"input": {"name": f"{ai_model} test", "allowedTickers": list(tickers), "aiModel": ai_model}},
        token=account.token,
    )
    return data["createModel"]["id"]


async def start(api, account, model_id, start=DAYS[0], end=DAYS[-1], max_steps=None) -> dict:
    variables = {"model": model_id, "input": {"startDate": start.isoformat(), "endDate": end.isoformat()}}
    if max_steps is not None:
        variables["input"]["maxSteps"] = max_steps
    return (await api.data(START_DAILY, variables, token=account.token))["startDailyRun"]


async def wait_finished(run_id: str, api, account, timeout: float = 60) -> dict:
    async def poll():
        while True:
            run = (await api.data(RUN, {"id": run_id}, token=account.token))["run"]
            if run["status"] not in ("QUEUED", "RUNNING"):
                return run
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(poll(), timeout)


async def test_a_buy_and_hold_run_streams_its_events_and_ends_at_the_hand_computed_value(api, ws_url, user, market):
    model_id = await make_model(api, user)
    run = await start(api, user, model_id)
    assert run["status"] == "QUEUED" and run["runNumber"] == 1
    assert run["strategySnapshot"]["allowed_tickers"] == [px.SYMBOL, px.OTHER]
    events, error = await follow_run(ws_url, user.token, run["id"], after_seq=0)
    assert error is None
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "QUEUED" and kinds[-1] == "COMPLETED"
    assert "STARTED" in kinds and kinds.count("LOG") == len(DAYS) and kinds.count("TRADE") == 2
    trades = [e["position"] for e in events if e["kind"] == "TRADE"]
    # 10,000 split evenly: 5,000 / 100 = 50 LKAH at the first open, 5,000 / 1,100 -> 4 LKBH.
    # The two orders go out together, so either may fill first.
    assert sorted((t["symbol"], t["amount"], t["price"]) for t in trades) == [
        (px.SYMBOL, 50, 100.0),
        (px.OTHER, 4, 1100.0),
    ]

    result = (await api.data(RUN, {"id": run["id"]}, token=user.token))["run"]
    last = len(DAYS) - 1
    leftover = Decimal("10000") - 50 * px.daily_open(0) - 4 * (px.daily_open(0) + 1000)
    expected = 50 * px.daily_close(last) + 4 * (px.daily_close(last) + 1000) + leftover
    assert result["status"] == "COMPLETED" and result["error"] is None
    assert result["finalPortfolioValue"] == float(expected)
    assert result["performance"]["finalValue"] == float(expected)
    assert result["finalReturn"] == pytest.approx(float(expected / 10000 - 1))
    assert result["totalTrades"] == 2 and result["performance"]["tradingDays"] == len(DAYS)
    assert len(result["equityCurve"]) == len(DAYS)
    assert result["logs"]["totalCount"] == len(DAYS)
    assert result["usage"]["llmCalls"] >= len(DAYS) and result["usage"]["outputTokens"] > 0
    assert result["progress"] == {"current": len(DAYS), "total": len(DAYS), "currentDate": DAYS[-1].isoformat()}
    # A trade or a no-trade row per day, and nothing twice.
    actions = [e["node"] for e in result["positions"]["edges"]]
    assert [a["actionId"] for a in actions] == list(range(1, len(actions) + 1))
    assert [a["action"] for a in actions].count("NO_TRADE") == len(DAYS) - 1


async def test_replay_after_a_seq_returns_only_later_events(api, ws_url, user, market):
    run = await start(api, user, await make_model(api, user))
    everything, _ = await follow_run(ws_url, user.token, run["id"])
    later, _ = await follow_run(ws_url, user.token, run["id"], after_seq=5)
    assert later == everything[5:]


async def test_the_model_shows_its_latest_run_positions_and_performance(api, ws_url, user, market):
    model_id = await make_model(api, user)
    run = await start(api, user, model_id)
    await wait_finished(run["id"], api, user)
    query = """query($id: ID!) { model(id: $id) { latestRun { id status } latestPosition { actionId }
      runs(first: 5) { totalCount edges { node { id } } } positions(first: 3) { totalCount }
      logs(date: "%s") { totalCount } performance { tradingDays } } }""".replace("%s", DAYS[0].isoformat())
    model = (await api.data(query, {"id": model_id}, token=user.token))["model"]
    assert model["latestRun"] == {"id": run["id"], "status": "COMPLETED"}
    assert model["runs"]["totalCount"] == 1
    assert model["positions"]["totalCount"] == model["latestPosition"]["actionId"]
    assert model["logs"]["totalCount"] == 1
    assert model["performance"]["tradingDays"] == len(DAYS)


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"startDate": DAYS[5].isoformat(), "endDate": DAYS[1].isoformat()}, "BAD_USER_INPUT", "startDate"),
        ({"startDate": "2031-01-01", "endDate": "2031-02-01"}, "BAD_USER_INPUT", "No daily prices"),
        (
            {"startDate": DAYS[0].isoformat(), "endDate": DAYS[3].isoformat(), "maxSteps": 0},
            "BAD_USER_INPUT",
            "maxSteps",
        ),
        (
            {"startDate": DAYS[0].isoformat(), "endDate": DAYS[3].isoformat(), "maxSteps": 101},
            "BAD_USER_INPUT",
            "maxSteps",
        ),
    ],
)
async def test_bad_run_input_is_refused_and_creates_nothing(api, user, market, variables, code, field):
    model_id = await make_model(api, user)
    error = await api.error(START_DAILY, {"model": model_id, "input": variables}, token=user.token)
    assert error["extensions"]["code"] == code and field in error["message"]
    assert not await Run.filter(model__owner__email=user.email).exists()


async def test_a_second_start_while_a_run_is_active_is_a_conflict(api, user, market):
    model_id = await make_model(api, user)
    run = await start(api, user, model_id)
    await Run.filter(id=(await Run.get(model__owner__email=user.email)).id).update(status=RunStatus.RUNNING)
    error = await api.error(
        START_DAILY,
        {"model": model_id, "input": {"startDate": DAYS[0].isoformat(), "endDate": DAYS[2].isoformat()}},
        token=user.token,
    )
    assert error["extensions"]["code"] == "CONFLICT"
    assert await Run.filter(model__owner__email=user.email).count() == 1
    assert run["id"]


async def test_another_users_run_is_not_found_everywhere_and_streams_nothing(api, ws_url, user, other_user, market):
    run = await start(api, user, await make_model(api, user))
    await wait_finished(run["id"], api, user)
    for query in (RUN, "mutation($id: ID!) { cancelRun(id: $id) { id } }", "mutation($id: ID!) { deleteRun(id: $id) }"):
        assert await api.error_code(query, {"id": run["id"]}, token=other_user.token) == "NOT_FOUND"
    events, error = await follow_run(ws_url, other_user.token, run["id"])
    assert events == [] and error["extensions"]["code"] == "NOT_FOUND"
    assert await Run.exists(id=(await Run.get(model__owner__email=user.email)).id)


async def test_deleting_a_finished_run_removes_its_positions_logs_and_curve(api, user, market):
    run = await start(api, user, await make_model(api, user))
    await wait_finished(run["id"], api, user)
    pk = (await Run.get(model__owner__email=user.email)).id
    assert (await api.data("mutation($id: ID!) { deleteRun(id: $id) }", {"id": run["id"]}, token=user.token))[
        "deleteRun"
    ]
    for table in (Position, ReasoningLog, EquityPoint):
        assert not await table.filter(run_id=pk).exists()
    assert await api.error_code(RUN, {"id": run["id"]}, token=user.token) == "NOT_FOUND"


async def test_a_running_run_cannot_be_deleted(api, user, market):
    run = await start(api, user, await make_model(api, user))
    await wait_finished(run["id"], api, user)
    await Run.filter(model__owner__email=user.email).update(status=RunStatus.RUNNING)
    assert (
        await api.error_code("mutation($id: ID!) { deleteRun(id: $id) }", {"id": run["id"]}, token=user.token)
        == "CONFLICT"
    )
    await Run.filter(model__owner__email=user.email).update(status=RunStatus.COMPLETED)


START_INTRADAY = """mutation($model: ID!, $input: IntradayRunInput!) {
  startIntradayRun(modelId: $model, input: $input) { id status mode symbol date session progress { total } } }"""


async def test_an_intraday_session_decides_bar_by_bar_and_fills_at_the_next_open(api, ws_url, user, market):
    model_id = await make_model(api, user, tickers=(px.SYMBOL,))
    run = (
        await api.data(
            START_INTRADAY,
            {"model": model_id, "input": {"symbol": px.SYMBOL.lower(), "date": px.HOURLY_DATE.isoformat()}},
            token=user.token,
        )
    )["startIntradayRun"]
    assert (run["mode"], run["symbol"], run["session"]) == ("INTRADAY", px.SYMBOL, "REGULAR")
    assert run["progress"]["total"] == len(px.HOURS) - 1  # every bar but the last is a decision bar
    events, error = await follow_run(ws_url, user.token, run["id"])
    assert error is None and events[-1]["kind"] == "COMPLETED"
    [trade] = [e["position"] for e in events if e["kind"] == "TRADE"]
    # 10,000 at the 10:00 bar's close (510.25) buys 19 shares, filled at the 11:00 bar's open (511).
    assert (trade["amount"], trade["price"]) == (19, float(px.hourly_open(11)))
    result = (await api.data(RUN, {"id": run["id"]}, token=user.token))["run"]
    curve = result["equityCurve"]
    assert len(curve) == len(px.HOURS) - 1
    cash = Decimal("10000") - 19 * px.hourly_open(11)
    assert curve[-1]["value"] == float(cash + 19 * px.hourly_close(15))


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"symbol": "MSFT", "date": px.HOURLY_DATE.isoformat()}, "symbol"),
        ({"symbol": px.SYMBOL, "date": "2025-01-16"}, "date"),
        ({"symbol": px.SYMBOL, "date": px.HOURLY_DATE.isoformat(), "session": "PRE"}, "date"),
        ({"symbol": px.SYMBOL, "date": px.HOURLY_DATE.isoformat(), "maxSteps": 0}, "maxSteps"),
    ],
)
async def test_bad_intraday_input_is_refused(api, user, market, variables, field):
    model_id = await make_model(api, user, tickers=(px.SYMBOL,))
    error = await api.error(START_INTRADAY, {"model": model_id, "input": variables}, token=user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == field
    assert not await Run.filter(model__owner__email=user.email).exists()


async def test_a_document_with_several_root_fields_answers_every_one(api, user, market):
    run = await start(api, user, await make_model(api, user))
    document = "query($id: ID!) { run(id: $id) { id status } again: run(id: $id) { id } models { totalCount } }"
    data = await api.data(document, {"id": run["id"]}, token=user.token)
    assert data["run"]["id"] == data["again"]["id"] == run["id"] and data["models"]["totalCount"] == 1
    await wait_finished(run["id"], api, user)
