"""Runs whose LLM is remote: ChatOpenAI against the session's OpenAI-compatible test server."""

from __future__ import annotations

import asyncio

from db_models.runs import Position, Run
from tests.support import price_fixtures as px
from tests.support.fake_openai import Turn, tool_results
from tests.support.run_helpers import (
    follow_run,
)
from tests.test_runs import DAYS, RUN, make_model, start, wait_finished


async def test_a_remote_model_trades_through_the_tools_and_its_usage_is_counted(api, ws_url, user, market, remote_llm):
    model_id = await make_model(api, user, ai_model="openai/gpt-5", tickers=(px.SYMBOL,))
    await api.data(
        "mutation($id: ID!) { updateModel(id: $id, input: {parameters: {temperature: 0.3, topK: 7}}) { id } }",
        {"id": model_id},
        token=user.token,
    )
    run = await start(api, user, model_id, end=DAYS[4])
    events, error = await follow_run(ws_url, user.token, run["id"])
    assert error is None and events[-1]["kind"] == "COMPLETED"
    result = (await api.data(RUN, {"id": run["id"]}, token=user.token))["run"]
    buys = [e["node"] for e in result["positions"]["edges"] if e["node"]["action"] == "BUY"]
    assert [(b["symbol"], b["amount"], b["price"]) for b in buys] == [
        (px.SYMBOL, 1, float(px.daily_open(i))) for i in range(5)
    ]
    assert result["usage"]["llmCalls"] == len(remote_llm.requests) == 15  # portfolio, buy, answer: each of 5 days
    assert result["usage"]["inputTokens"] == sum(u["prompt_tokens"] for u in remote_llm.usage_reports)
    assert result["usage"]["outputTokens"] == sum(u["completion_tokens"] for u in remote_llm.usage_reports)
    first = remote_llm.requests[0]
    assert first["model"] == "openai/gpt-5" and first["temperature"] == 0.3 and first["top_k"] == 7
    assert first.get("stream") in (None, False)  # a trading turn is read whole
    assert {t["function"]["name"] for t in first["tools"]} >= {"buy", "sell", "portfolio", "quote"}


async def test_a_failing_llm_fails_the_run_with_a_readable_reason(api, ws_url, user, market, remote_llm):
    remote_llm.fail_status = 500
    run = await start(api, user, await make_model(api, user, ai_model="openai/gpt-5"), end=DAYS[2])
    events, error = await follow_run(ws_url, user.token, run["id"], timeout=60)
    assert error is None and events[-1]["kind"] == "FAILED"
    result = (await api.data(RUN, {"id": run["id"]}, token=user.token))["run"]
    assert result["status"] == "FAILED"
    assert "failed 3 times" in result["error"] and DAYS[0].isoformat() in result["error"]
    assert "Traceback" not in result["error"]
    assert events[-1]["message"] == result["error"]


async def test_cancelling_a_running_run_stops_it_within_seconds_and_keeps_what_was_done(
    api, ws_url, user, market, remote_llm
):
    remote_llm.delay_seconds = 0.2
    run = await start(api, user, await make_model(api, user, ai_model="openai/gpt-5", tickers=(px.SYMBOL,)))
    progress, _ = await follow_run(ws_url, user.token, run["id"], limit=4)  # QUEUED, STARTED, PROGRESS, ...
    assert progress[-1]["status"] == "RUNNING"
    cancelled = (
        await api.data("mutation($id: ID!) { cancelRun(id: $id) { id status } }", {"id": run["id"]}, token=user.token)
    )["cancelRun"]
    assert cancelled["status"] == "RUNNING"  # it stops at its next step boundary
    started = asyncio.get_running_loop().time()
    result = await wait_finished(run["id"], api, user, timeout=15)
    assert asyncio.get_running_loop().time() - started < 5
    assert result["status"] == "CANCELLED" and result["endedAt"]
    assert 0 < len(result["equityCurve"]) < len(DAYS)
    events, _ = await follow_run(ws_url, user.token, run["id"])
    assert events[-1]["kind"] == "CANCELLED"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    pk = (await Run.get(model__owner__email=user.email)).id
    assert await Position.filter(run_id=pk).exists()


async def test_a_finished_run_cannot_be_cancelled(api, user, market, remote_llm):
    run = await start(api, user, await make_model(api, user), end=DAYS[1])
    await wait_finished(run["id"], api, user)
    assert (
        await api.error_code("mutation($id: ID!) { cancelRun(id: $id) { id } }", {"id": run["id"]}, token=user.token)
        == "CONFLICT"
    )


async def test_a_tool_call_with_a_number_beyond_64_bits_is_refused_by_the_tool_and_the_run_goes_on(
    api, ws_url, user, market, remote_llm
):
    huge = 10**20

    def greedy(messages, tools):
        results = tool_results(messages)
        if not results:
            return Turn("", [("buy", {"symbol": px.SYMBOL, "amount": huge})])
        return Turn(f"Noted: {results[-1][1][:40]}")

    remote_llm.policy = greedy
    run = await start(api, user, await make_model(api, user, ai_model="openai/gpt-5"), end=DAYS[1])
    events, error = await follow_run(ws_url, user.token, run["id"])
    assert error is None and events[-1]["kind"] == "COMPLETED", events[-1]
    logs = (
        await api.data(
            "query($id: ID!) { run(id: $id) { logs(first: 5) { edges { node { messages } } } } }",
            {"id": run["id"]},
            token=user.token,
        )
    )["run"]["logs"]["edges"]
    calls = [c for e in logs for m in e["node"]["messages"] for c in m.get("tool_calls") or []]
    assert calls and all(c["args"]["amount"] == str(huge) for c in calls)
    stored = await Run.filter(model__owner__email=user.email).first()
    assert not await Position.filter(run_id=stored.id, action="BUY").exists()
