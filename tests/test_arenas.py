"""Arenas end to end in embedded mode: several local models over the same days, one gap-free event stream over
a real websocket, standings equal to an independent pandas computation, cancel, delete, rules and limits."""

from __future__ import annotations

import asyncio
import math

import pandas as pd
import pytest
import pytest_asyncio
from redis.exceptions import ConnectionError as RedisConnectionError

from agents.chat.scope import AnalystScope
from agents.chat.tools import make_analyst_tools
from db_models.accounts import User
from db_models.arenas import Arena
from db_models.runs import BenchmarkCurve, Run, RunStatus
from db_models.trading import TradingModel
from graphql_api.ids import to_global_id
from graphql_api.security.config import RateRule
from tasks.dispatch import InProcessDispatcher
from tests.conftest import Account, signed_up
from tests.support import price_fixtures as px
from tests.support.arena_helpers import DAYS, START_ARENA, WAVE, arena_input, create_model, follow_arena
from tests.support.chat_helpers import follow_chat
from tests.support.run_helpers import follow_run
from tests.support.wave_market import WAVE_CLOSES, WAVE_OPENS, wave_market

approx = pytest.approx
ARENA = """query($id: ID!) { arena(id: $id) { id name status endedAt benchmarkSymbol
  runs { id status usage { llmCalls inputTokens outputTokens }
         strategySnapshot benchmarks { kind symbols } }
  benchmarks { kind symbols label equityCurve { date timestamp value cash } performance { totalReturn totalTrades } }
  standings { rank modelName aiModel status totalReturn sharpeRatio maxDrawdown totalTrades llmCalls inputTokens
              outputTokens excessReturn excessReturnOverIndex run { id } } } }"""
PICKED = ("action", "symbol", "amount", "price")  # the position fields ARENA_EVENTS selects
CURVE = "query($id: ID!) { run(id: $id) { equityCurve { date value } } }"  # a run at a time: a curve is long
CONVERSE = "mutation { createConversation { id } }"
SEND = "mutation($id: ID!, $c: String!) { sendMessage(conversationId: $id, content: $c) { id } }"
CANCEL = "mutation($id: ID!) { cancelArena(id: $id) { id status runs { status } } }"
DELETE = "mutation($id: ID!) { deleteArena(id: $id) }"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def market(server_url):
    async with wave_market(WAVE) as urls:
        yield urls


@pytest_asyncio.fixture
async def three_models(api, user, market) -> list[str]:
    return [
        await create_model(api, user, "Holder", "local/buy-and-hold", (px.SYMBOL, WAVE)),
        await create_model(api, user, "Momentum", "local/momentum", (px.SYMBOL, WAVE)),
        await create_model(api, user, "Wave rider", "local/buy-and-hold", (WAVE,), cash=4000.0),
    ]


def prices() -> pd.DataFrame:
    """The fixture's daily opens and closes by date, read from the fixture definitions, not the database."""
    return pd.DataFrame(
        {
            ("LKAH", "open"): [float(px.daily_open(i)) for i in range(len(DAYS))],
            ("LKAH", "close"): [float(px.daily_close(i)) for i in range(len(DAYS))],
            (WAVE, "open"): [float(o) for o in WAVE_OPENS],
            (WAVE, "close"): [float(c) for c in WAVE_CLOSES],
        },
        index=[d.isoformat() for d in DAYS],
    )


def equal_weight_hold(symbols: list[str], cash: float) -> pd.Series:
    table = prices()
    shares = {s: cash / len(symbols) / table[(s, "open")].iloc[0] for s in symbols}
    return sum(table[(s, "close")] * n for s, n in shares.items())


def said(fraction: float) -> str:
    """A fraction as the analyst says it: a signed percentage to two places (never -0.00%)."""
    return f"{round(fraction * 100, 2) + 0.0:+.2f}%"


def figures(values: pd.Series, v0: float) -> dict:
    series = pd.concat([pd.Series([v0]), values.reset_index(drop=True)], ignore_index=True)
    returns = series.pct_change().dropna()
    std = returns.std()
    return {
        "totalReturn": series.iloc[-1] / v0 - 1,
        "sharpeRatio": None if std < 1e-12 else returns.mean() / std * math.sqrt(252),
        "maxDrawdown": (1 - series / series.cummax()).max(),
    }


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def owner(api) -> Account:
    return await signed_up(api, "arena")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tech_q1(api, server_url, owner, market) -> dict:
    """Three local models over the test month, followed from the first event to ENDED."""
    models = [
        await create_model(api, owner, "Holder", "local/buy-and-hold", (px.SYMBOL, WAVE)),
        await create_model(api, owner, "Momentum", "local/momentum", (px.SYMBOL, WAVE)),
        await create_model(api, owner, "Wave rider", "local/buy-and-hold", (WAVE,), cash=4000.0),
    ]
    started = (await api.data(START_ARENA, arena_input("Tech Q1", models), token=owner.token))["startArena"]
    ws_url = server_url.replace("http://", "ws://") + "/graphql"
    events, error = await follow_arena(ws_url, owner.token, started["id"], after_seq=0)
    assert error is None, error
    return {"started": started, "events": events, "ws_url": ws_url}


async def test_a_three_model_arena_streams_every_runs_events_in_one_gap_free_resumable_seq(owner, tech_q1):
    started, events, ws_url = tech_q1["started"], tech_q1["events"], tech_q1["ws_url"]
    # The runs are handed to the in-process worker before the answer is made: they may have started already.
    assert started["status"] in ("QUEUED", "RUNNING") and len(started["runs"]) == 3
    assert {r["status"] for r in started["runs"]} <= {"QUEUED", "RUNNING"}
    assert started["benchmarkSymbol"] is None  # no QQQ prices in this market
    run_ids = [r["id"] for r in started["runs"]]

    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["kind"] == "ENDED" and events[-1]["status"] == "COMPLETED"
    assert events[-1]["arenaId"] == started["id"] and events[-1]["runId"] is None
    members = events[:-1]
    assert all(e["kind"] == "RUN" and e["runId"] == e["runEvent"]["runId"] for e in members)
    assert {e["runId"] for e in members} == set(run_ids)
    for run_id in run_ids:  # each run's events, in order, exactly as its own stream has them
        own, _ = await follow_run(ws_url, owner.token, run_id, after_seq=0)
        tagged = [e["runEvent"] for e in members if e["runId"] == run_id]
        same = ("seq", "kind", "status", "message")
        assert [[e[k] for k in same] for e in tagged] == [[e[k] for k in same] for e in own]
        assert [e["progress"]["current"] for e in tagged] == [e["progress"]["current"] for e in own]
        trades = [e["position"] for e in own if e["position"]]
        assert [e["position"] for e in tagged if e["position"]] == [{k: t[k] for k in PICKED} for t in trades]
        assert tagged[0]["kind"] == "QUEUED" and tagged[-1]["kind"] == "COMPLETED"
    assert members[-1]["runEvent"]["kind"] == "COMPLETED"  # ENDED comes after the last run's final event

    resumed, _ = await follow_arena(ws_url, owner.token, started["id"], after_seq=7)
    assert resumed == events[7:]
    nothing_left, error = await follow_arena(ws_url, owner.token, started["id"], after_seq=len(events))
    assert nothing_left == [] and error is None


async def test_the_standings_and_the_baseline_equal_an_independent_pandas_computation(api, owner, tech_q1):
    arena = (await api.data(ARENA, {"id": tech_q1["started"]["id"]}, token=owner.token))["arena"]
    assert arena["status"] == "COMPLETED" and arena["endedAt"]
    # The arena's baseline: every member's tickers (ARWV, LKAH) in equal parts from the first member's cash.
    [baseline] = arena["benchmarks"]
    expected_baseline = equal_weight_hold([WAVE, "LKAH"], 10_000)
    assert baseline["kind"] == "BUY_AND_HOLD" and baseline["symbols"] == [WAVE, "LKAH"]
    assert [p["value"] for p in baseline["equityCurve"]] == approx(list(expected_baseline), abs=1e-6)
    assert [p["date"] for p in baseline["equityCurve"]] == [d.isoformat() for d in DAYS]
    baseline_return = expected_baseline.iloc[-1] / 10_000 - 1

    # The standings, computed independently from each run's curve and the fixture prices.
    expected = []
    for run in arena["runs"]:
        cash = float(run["strategySnapshot"]["initial_cash"])
        curve = (await api.data(CURVE, {"id": run["id"]}, token=owner.token))["run"]["equityCurve"]
        ours = figures(pd.Series([p["value"] for p in curve]), cash)
        expected.append({"id": run["id"], "name": run["strategySnapshot"]["name"], "run": run, **ours})
    expected.sort(key=lambda e: -e["totalReturn"])
    standings = arena["standings"]
    assert [s["run"]["id"] for s in standings] == [e["id"] for e in expected]
    assert [s["rank"] for s in standings] == [1, 2, 3]
    for standing, mine in zip(standings, expected, strict=True):
        assert standing["modelName"] == mine["name"] and standing["status"] == "COMPLETED"
        assert standing["totalReturn"] == approx(mine["totalReturn"], abs=1e-12)
        assert standing["maxDrawdown"] == approx(mine["maxDrawdown"], abs=1e-12)
        assert standing["sharpeRatio"] == (None if mine["sharpeRatio"] is None else approx(mine["sharpeRatio"]))
        assert standing["excessReturn"] == approx(mine["totalReturn"] - baseline_return, abs=1e-9)
        assert standing["excessReturnOverIndex"] is None
        usage = mine["run"]["usage"]
        assert (standing["llmCalls"], standing["inputTokens"], standing["outputTokens"]) == (
            usage["llmCalls"],
            usage["inputTokens"],
            usage["outputTokens"],
        )
        assert standing["llmCalls"] >= len(DAYS)
    by_name = {s["modelName"]: s for s in standings}
    # Whole shares of the holder are exactly the baseline's here (50 LKAH at 100, 100 ARWV at 50): no excess.
    assert by_name["Holder"]["excessReturn"] == approx(0.0, abs=1e-9) and by_name["Holder"]["totalTrades"] == 2
    wave = equal_weight_hold([WAVE], 4_000)
    assert by_name["Wave rider"]["totalReturn"] == approx(wave.iloc[-1] / 4_000 - 1, abs=1e-12)  # 80 whole shares
    # Each run carries its own baseline too: the wave rider's is the wave alone.
    [wave_run] = [r for r in arena["runs"] if r["strategySnapshot"]["name"] == "Wave rider"]
    assert wave_run["benchmarks"] == [{"kind": "BUY_AND_HOLD", "symbols": [WAVE]}]
    # The arena's and its runs' baselines are stored now that they ended.
    pks = [r.id for r in await Run.filter(arena__name="Tech Q1", arena__owner__email=owner.email)]
    assert await BenchmarkCurve.filter(run_id__in=pks).count() == 3
    assert await BenchmarkCurve.filter(arena__name="Tech Q1", arena__owner__email=owner.email).count() == 1


async def test_the_analyst_says_who_won_the_arena_and_why_from_its_standings_and_logs(api, owner, tech_q1):
    arena = (await api.data(ARENA, {"id": tech_q1["started"]["id"]}, token=owner.token))["arena"]
    winner, *rest = arena["standings"]
    conversation = (await api.data(CONVERSE, token=owner.token))["createConversation"]["id"]
    events, error = await follow_chat(
        tech_q1["ws_url"],
        owner.token,
        conversation,
        on_open=lambda: api.data(
            SEND, {"id": conversation, "c": "Who won the arena 'Tech Q1' and why?"}, token=owner.token
        ),
    )
    assert error is None
    tools = [(e["kind"], e["tool"], e["toolInput"]) for e in events if e["kind"] == "TOOL_START"]
    assert tools == [("TOOL_START", "arena_standings", {"arena": "Tech Q1"})]
    answer = events[-1]["message"]["content"]
    assert f"{winner['modelName']} ({winner['aiModel']}) won with a total return of " in answer
    assert f"won with a total return of {said(winner['totalReturn'])}." in answer
    assert f"That is {said(winner['excessReturn'])} against the baseline" in answer
    assert "Its trades: bought" in answer and "it wrote:" in answer  # the why: its trades and its own words
    for other in rest:
        assert f"{other['rank']}. {other['modelName']} {said(other['totalReturn'])}" in answer

    unknown, _ = await follow_chat(
        tech_q1["ws_url"],
        owner.token,
        conversation,
        after_seq=len(events),
        on_open=lambda: api.data(SEND, {"id": conversation, "c": "How did the arena 'Nope' go?"}, token=owner.token),
    )
    not_found = unknown[-1]["message"]["content"]
    assert "no arena called 'Nope'" in not_found and "Tech Q1" in not_found


async def test_another_users_analyst_cannot_see_the_arena(owner, tech_q1, other_user):
    intruder = await User.get(email=other_user.email)
    tools = {t.name: t for t in make_analyst_tools(AnalystScope(user_id=intruder.id))}
    assert await tools["arena_standings"].ainvoke({"arena": "Tech Q1"}) == (
        "Not found: you have no arena called 'Tech Q1'; yours are: none."
    )
    assert await tools["arena_standings"].ainvoke({}) == "Not found: you have no arenas yet."


async def test_live_standings_never_reach_past_the_members_closes_and_cancelling_ends_every_run(
    api, ws_url, user, market, remote_llm
):
    remote_llm.delay_seconds = 0.05
    models = [
        await create_model(api, user, f"Remote {i}", "openai/gpt-5", (px.SYMBOL,), cash=10_000.0 * (i + 1))
        for i in range(2)
    ]
    started = (await api.data(START_ARENA, arena_input("Live", models), token=user.token))["startArena"]
    first, _ = await follow_arena(ws_url, user.token, started["id"], limit=12)
    assert [e["seq"] for e in first] == list(range(1, 13))

    live = (await api.data(ARENA, {"id": started["id"]}, token=user.token))["arena"]
    assert live["status"] == "RUNNING" and live["endedAt"] is None
    later = (await api.data(ARENA, {"id": started["id"]}, token=user.token))["arena"]
    curves = [
        (await api.data(CURVE, {"id": run["id"]}, token=user.token))["run"]["equityCurve"] for run in later["runs"]
    ]
    closes = {p["date"] for curve in curves for p in curve}
    baseline_days = [p["date"] for p in live["benchmarks"][0]["equityCurve"]]
    assert baseline_days == [d.isoformat() for d in DAYS[: len(baseline_days)]]
    assert set(baseline_days) <= closes  # never a close no member had reached
    for standing in live["standings"]:
        if standing["totalReturn"] is not None:
            assert standing["excessReturn"] is not None

    cancelled = (await api.data(CANCEL, {"id": started["id"]}, token=user.token))["cancelArena"]
    assert cancelled["id"] == started["id"]
    events, error = await follow_arena(ws_url, user.token, started["id"], after_seq=0, timeout=30)
    assert error is None and events[-1]["kind"] == "ENDED" and events[-1]["status"] == "CANCELLED"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    finals = [e["runEvent"]["kind"] for e in events if e["kind"] == "RUN" and e["runEvent"]["kind"] == "CANCELLED"]
    assert len(finals) == 2
    ended = (await api.data(ARENA, {"id": started["id"]}, token=user.token))["arena"]
    assert ended["status"] == "CANCELLED" and {r["status"] for r in ended["runs"]} == {"CANCELLED"}
    assert (await api.error_code(CANCEL, {"id": started["id"]}, token=user.token)) == "CONFLICT"

    assert (await api.data(DELETE, {"id": started["id"]}, token=user.token))["deleteArena"] is True
    assert (await api.error_code(ARENA, {"id": started["id"]}, token=user.token)) == "NOT_FOUND"
    assert not await Run.filter(model__owner__email=user.email, model__name__startswith="Remote").exists()


async def test_a_running_arena_cannot_be_deleted_and_keeps_its_runs(api, user, market, remote_llm):
    remote_llm.delay_seconds = 0.2
    models = [await create_model(api, user, f"Slow {i}", "openai/gpt-5", (px.SYMBOL,)) for i in range(2)]
    started = (await api.data(START_ARENA, arena_input("Slow", models), token=user.token))["startArena"]
    assert (await api.error_code(DELETE, {"id": started["id"]}, token=user.token)) == "CONFLICT"
    assert await Run.filter(arena__name="Slow", arena__owner__email=user.email).count() == 2
    await api.data(CANCEL, {"id": started["id"]}, token=user.token)
    for _ in range(300):
        if not await Run.filter(arena__name="Slow", status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists():
            break
        await asyncio.sleep(0.1)
    assert (await api.data(DELETE, {"id": started["id"]}, token=user.token))["deleteArena"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda ids: {"modelIds": ids[:1]}, "modelIds"),
        (lambda ids: {"modelIds": [ids[0], ids[0]]}, "modelIds"),
        (lambda ids: {"modelIds": ids * 7}, "modelIds"),  # 21
        (lambda ids: {"name": "   "}, "name"),
        (lambda ids: {"startDate": DAYS[5].isoformat(), "endDate": DAYS[1].isoformat()}, "startDate"),
        (lambda ids: {"startDate": "2031-01-02", "endDate": "2031-01-31"}, "modelIds"),
        (lambda ids: {"maxSteps": 0}, "maxSteps"),
        (lambda ids: {"benchmarkSymbol": "not a ticker"}, "benchmarkSymbol"),
        (lambda ids: {"benchmarkSymbol": "NOPRICES"}, "benchmarkSymbol"),
    ],
)
async def test_a_bad_arena_is_refused_with_the_field_named_and_creates_nothing(api, user, three_models, change, field):
    variables = arena_input("Refused", three_models)
    variables["input"] |= change(three_models)
    error = await api.error(START_ARENA, variables, token=user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == field, error
    assert not await Arena.filter(owner__email=user.email).exists()
    assert not await Run.filter(model__owner__email=user.email).exists()


async def test_an_arena_starts_all_its_runs_or_none(api, user, other_user, three_models):
    await Run.create(
        model_id=await _model_pk(user, "Momentum"),
        run_number=1,
        mode="DAILY",
        status=RunStatus.RUNNING,
        strategy_snapshot={},
    )
    error = await api.error(START_ARENA, arena_input("Busy", three_models), token=user.token)
    assert error["extensions"]["code"] == "CONFLICT" and "Momentum" in error["message"]
    assert not await Arena.filter(owner__email=user.email).exists()
    assert await Run.filter(model__owner__email=user.email).count() == 1

    theirs = await create_model(api, other_user, "Theirs", "local/buy-and-hold", (px.SYMBOL,))
    error = await api.error(START_ARENA, arena_input("Mixed", [three_models[0], theirs]), token=user.token)
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert not await Arena.filter(owner__email=user.email).exists()


async def _model_pk(account, name: str) -> int:
    return (await TradingModel.get(owner__email=account.email, name=name)).id


async def test_an_arena_of_n_models_counts_n_run_starts_against_the_rate_limit(api, app, user, three_models, limits):
    app.state.security.config.rate_limits[("start_run", "user")] = RateRule(4, 60)
    started = (await api.data(START_ARENA, arena_input("Counted", three_models), token=user.token))["startArena"]
    await api.data(CANCEL, {"id": started["id"]}, token=user.token)
    spare = await create_model(api, user, "Spare", "local/buy-and-hold", (px.SYMBOL,))
    another = await create_model(api, user, "Another", "local/buy-and-hold", (px.SYMBOL,))
    body = await api.execute(START_ARENA, arena_input("Over", [spare, another]), token=user.token)
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"  # 3 + 2 > 4
    assert await Arena.filter(owner__email=user.email).count() == 1


async def test_arenas_are_listed_newest_first_and_only_to_their_owner(api, user, other_user, three_models):
    ids = []
    for name in ("First", "Second"):
        started = (await api.data(START_ARENA, arena_input(name, three_models[:2]), token=user.token))["startArena"]
        ids.append(started["id"])
        await api.data(CANCEL, {"id": started["id"]}, token=user.token)
        while await Run.filter(
            model__owner__email=user.email, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
        ).exists():
            await asyncio.sleep(0.05)
    query = """query($after: String) { arenas(first: 1, after: $after) {
      totalCount edges { node { id name } } pageInfo { hasNextPage endCursor } } }"""
    page = (await api.data(query, token=user.token))["arenas"]
    assert page["totalCount"] == 2 and page["edges"][0]["node"]["name"] == "Second" and page["pageInfo"]["hasNextPage"]
    after = page["pageInfo"]["endCursor"]
    page = (await api.data(query, {"after": after}, token=user.token))["arenas"]
    assert [e["node"]["id"] for e in page["edges"]] == [ids[0]] and not page["pageInfo"]["hasNextPage"]
    assert (await api.data(query, token=other_user.token))["arenas"]["totalCount"] == 0


async def test_an_arena_whose_runs_cannot_reach_the_queue_is_unavailable_and_every_run_ends_failed(
    api, user, three_models, monkeypatch
):
    handed: list[int] = []
    enqueue = InProcessDispatcher.enqueue_run

    async def queue_down_after_one(self, run_id):
        if handed:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        handed.append(run_id)
        await enqueue(self, run_id)

    monkeypatch.setattr(InProcessDispatcher, "enqueue_run", queue_down_after_one)
    error = await api.error(START_ARENA, arena_input("Queue down", three_models), token=user.token)
    assert error["extensions"]["code"] == "UNAVAILABLE" and "6379" not in error["message"]
    runs = await Run.filter(arena__name="Queue down", arena__owner__email=user.email).order_by("id")
    assert [r.id for r in runs][:1] == handed
    assert [r.status for r in runs[1:]] == [RunStatus.FAILED, RunStatus.FAILED]
    assert all("job queue is unavailable" in r.error for r in runs[1:])
    await api.data(CANCEL, {"id": to_global_id("Arena", runs[0].arena_id)}, token=user.token)


async def test_the_standings_count_each_runs_fees_and_the_baseline_pays_none(api, ws_url, user, market):
    costly = await create_model(api, user, "Costly", "local/buy-and-hold", (px.SYMBOL, WAVE))
    await api.data(
        "mutation($id: ID!) { updateModel(id: $id, input: {costs: {commissionFixed: 1.5, commissionBps: 10}}) { id } }",
        {"id": costly},
        token=user.token,
    )
    free = await create_model(api, user, "Free", "local/buy-and-hold", (px.SYMBOL, WAVE))
    started = (await api.data(START_ARENA, arena_input("Fees", [costly, free], end=DAYS[4]), token=user.token))[
        "startArena"
    ]
    events, _ = await follow_arena(ws_url, user.token, started["id"])
    assert events[-1]["kind"] == "ENDED"
    query = """query($id: ID!) { arena(id: $id) { benchmarks { performance { totalFees } }
      standings { modelName totalFees totalReturn run { positions(first: 100) { edges { node { fee } } } } } } }"""
    arena = (await api.data(query, {"id": started["id"]}, token=user.token))["arena"]
    fees = {s["modelName"]: s["totalFees"] for s in arena["standings"]}
    paid = sum(
        e["node"]["fee"]
        for s in arena["standings"]
        if s["modelName"] == "Costly"
        for e in s["run"]["positions"]["edges"]
    )
    # Each half of the cash buys exactly its whole shares (50 LKAH at 100, 100 ARWV at 50); with a fee of
    # 1.50 + 10 bp of 5,000 = 6.50 the first order fills and the second no longer fits: one fee of 6.50.
    assert fees["Costly"] == approx(6.5) and paid == approx(6.5) and fees["Free"] == 0.0
    assert arena["benchmarks"][0]["performance"]["totalFees"] == 0.0
