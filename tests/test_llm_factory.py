"""load_chat_model: local ids give the deterministic strategies; remote ids give ChatOpenAI against the
configured OpenAI-compatible endpoint (here a test server on 127.0.0.1), with the model's parameters."""

from __future__ import annotations

import dataclasses
import json
import re
from decimal import Decimal

import openai
import pytest
import pytest_asyncio
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from agents.llm import ModelUnavailable, load_chat_model
from agents.local_models import BuyAndHoldModel, MomentumModel
from agents.trading import DayContext, run_trading_day
from db_models.runs import ActionType, Position
from tests.support import price_fixtures as px
from tests.support.fake_openai import Turn, running_fake_openai, tool_results
from tests.support.tool_servers import create_running_run, running_tool_servers
from tests.test_trading_graph import run_tools

PARAMETERS = {
    "temperature": 0.3,
    "top_p": 0.9,
    "top_k": 40,
    "max_tokens": 512,
    "frequency_penalty": 0.1,
    "presence_penalty": 0.2,
}
DAYS = px.trading_days()
TODAY = 9


def remote_settings(settings, base_url: str = "http://127.0.0.1:9/v1", key: str | None = "test-key"):
    return dataclasses.replace(settings, openai_api_base=base_url, openai_api_key=key)


@pytest_asyncio.fixture
async def fake_openai():
    async with running_fake_openai() as fake:
        yield fake


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tool_urls(server_url):
    async with px.test_bars(), running_tool_servers("price", "trade") as urls:
        yield urls


def day_context(run_id: int, tickers: list[str]) -> DayContext:
    return DayContext(
        run_id=run_id,
        mode="DAILY",
        day=DAYS[TODAY],
        clock_label="2025-01-15 09:30 America/New_York (open)",
        first_day=True,
        day_index=0,
        total_days=5,
        cash=Decimal("10000.00"),
        holdings={},
        allowed_tickers=tickers,
        custom_rules="Never buy more than 1 share.",
        custom_instructions=None,
    )


@pytest.mark.parametrize(
    ("model_id", "model_class"), [("local/buy-and-hold", BuyAndHoldModel), ("local/momentum", MomentumModel)]
)
def test_local_ids_make_the_deterministic_strategies_without_any_key(settings, model_id, model_class):
    model = load_chat_model(model_id, PARAMETERS, remote_settings(settings, key=None))
    assert isinstance(model, model_class)


@pytest.mark.parametrize(
    ("model_id", "reason"), [("nobody/nothing", "Unknown AI model"), ("local/analyst", "not a trading model")]
)
def test_ids_that_cannot_trade_are_refused_in_words(settings, model_id, reason):
    with pytest.raises(ModelUnavailable, match=reason):
        load_chat_model(model_id, {}, settings)


def test_a_remote_model_without_an_api_key_says_what_to_set(settings):
    with pytest.raises(
        ModelUnavailable, match=re.escape("needs an API key: set OPENAI_API_KEY for http://127.0.0.1:9/v1")
    ):
        load_chat_model("openai/gpt-5", {}, remote_settings(settings, key=None))


def test_a_remote_model_is_chat_openai_with_the_stored_parameters(settings):
    model = load_chat_model("anthropic/claude-sonnet-4.5", PARAMETERS, remote_settings(settings))
    assert isinstance(model, ChatOpenAI)
    assert (model.model_name, model.openai_api_base) == ("anthropic/claude-sonnet-4.5", "http://127.0.0.1:9/v1")
    assert (model.temperature, model.top_p, model.max_tokens) == (0.3, 0.9, 512)
    assert (model.frequency_penalty, model.presence_penalty, model.extra_body) == (0.1, 0.2, {"top_k": 40})
    assert model.stream_usage and model.use_responses_api is False
    assert not model.streaming  # a trading turn is read whole: one JSON answer, not a stream to parse
    chat = load_chat_model("anthropic/claude-sonnet-4.5", PARAMETERS, remote_settings(settings), purpose="chat")
    assert chat.streaming and chat.stream_usage  # a chat reply shows its tokens as they come


def test_a_remote_model_is_made_once_per_process_for_the_same_arguments(settings):
    model = load_chat_model("openai/gpt-5", PARAMETERS, remote_settings(settings))
    assert load_chat_model("openai/gpt-5", dict(PARAMETERS), remote_settings(settings)) is model
    assert load_chat_model("openai/gpt-5", {}, remote_settings(settings)) is not model
    assert load_chat_model("openai/gpt-5", PARAMETERS, remote_settings(settings), purpose="chat") is not model


def test_unset_parameters_are_left_to_the_endpoint(settings):
    model = load_chat_model("openai/gpt-5", {}, remote_settings(settings))
    assert model.temperature is None and model.top_p is None and model.max_tokens is None
    assert model.extra_body is None


async def test_a_remote_chat_model_streams_tokens_and_sends_the_parameters(settings, fake_openai):
    fake_openai.policy = lambda messages, tools: Turn("Prices look calm today, so I hold.")
    model = load_chat_model("openai/gpt-5", PARAMETERS, remote_settings(settings, fake_openai.base_url), purpose="chat")
    chunks = [chunk async for chunk in model.astream([HumanMessage("What now?")])]
    assert len([c for c in chunks if c.content]) == 7
    assert "".join(c.content for c in chunks) == "Prices look calm today, so I hold."
    assert sum((c.usage_metadata or {}).get("output_tokens", 0) for c in chunks) == 7

    [body] = fake_openai.requests
    assert body["model"] == "openai/gpt-5" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert (body["temperature"], body["top_p"], body["top_k"]) == (0.3, 0.9, 40)
    assert body.get("max_completion_tokens", body.get("max_tokens")) == 512
    assert (body["frequency_penalty"], body["presence_penalty"]) == (0.1, 0.2)


async def test_the_test_server_also_answers_without_streaming(fake_openai):
    fake_openai.policy = lambda messages, tools: Turn("", [("quote", {"symbol": "AAPL"})])
    model = ChatOpenAI(model="openai/gpt-5", base_url=fake_openai.base_url, api_key="test-key", use_responses_api=False)
    reply = await model.ainvoke("Quote AAPL")
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("quote", {"symbol": "AAPL"})]
    assert reply.usage_metadata["output_tokens"] == 3
    assert fake_openai.requests[0].get("stream") in (None, False)


async def test_a_remote_model_trades_through_the_real_trade_server(settings, fake_openai, tool_urls):
    tool_run = await create_running_run(
        settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL, px.OTHER]
    )
    model = load_chat_model("openai/gpt-5", PARAMETERS, remote_settings(settings, fake_openai.base_url))
    async with run_tools(tool_urls, tool_run.credential) as tools:
        result = await run_trading_day(
            llm=model,
            tools=list(tools.values()),
            context=day_context(tool_run.run.id, [px.SYMBOL, px.OTHER]),
            max_steps=5,
        )

    [row] = await Position.filter(run_id=tool_run.run.id)
    assert (row.action, row.symbol, row.amount, row.price) == (ActionType.BUY, px.SYMBOL, 1, px.daily_open(TODAY))
    assert result.messages[-1]["content"].startswith("Done: {")
    assert [m["role"] for m in result.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    # Usage is what the endpoint reported, call by call.
    assert result.llm_calls == 3 == len(fake_openai.requests)
    assert result.input_tokens == sum(u["prompt_tokens"] for u in fake_openai.usage_reports)
    assert result.output_tokens == sum(u["completion_tokens"] for u in fake_openai.usage_reports)

    first, second, _ = fake_openai.requests
    assert first.get("stream") in (None, False)
    assert {t["function"]["name"] for t in first["tools"]} == {
        "quote",
        "price_history",
        "indicators",
        "corporate_actions",
        "buy",
        "sell",
        "portfolio",
    }
    system = first["messages"][0]
    assert system["role"] == "system" and "Allowed tickers: LKAH, LKBH" in system["content"]
    assert "<<<CUSTOM RULES\nNever buy more than 1 share.\nCUSTOM RULES>>>" in system["content"]
    [(name, text)] = tool_results(second["messages"])
    assert name == "portfolio" and json.loads(text)["cash"] == 10000.0


async def test_a_tool_call_with_bad_arguments_comes_back_as_a_tool_message(settings, fake_openai, tool_urls):
    def forgets_the_amount(messages, tools):
        results = tool_results(messages)
        if not results:
            return Turn("", [("buy", {"symbol": px.SYMBOL})])
        return Turn(f"The tool said: {results[-1][1]}")

    fake_openai.policy = forgets_the_amount
    tool_run = await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL])
    model = load_chat_model("openai/gpt-5", {}, remote_settings(settings, fake_openai.base_url))
    async with run_tools(tool_urls, tool_run.credential) as tools:
        result = await run_trading_day(
            llm=model, tools=list(tools.values()), context=day_context(tool_run.run.id, [px.SYMBOL]), max_steps=5
        )
    tool_message = next(m for m in result.messages if m["role"] == "tool")
    assert tool_message["name"] == "buy" and "amount" in tool_message["content"]
    assert "amount" in result.messages[-1]["content"]
    assert await Position.filter(run_id=tool_run.run.id).count() == 0


async def test_an_endpoint_failure_fails_the_day_with_a_readable_error(settings, tool_urls):
    tool_run = await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL])
    async with running_fake_openai(fail_status=500) as fake:
        model = load_chat_model("openai/gpt-5", {}, remote_settings(settings, fake.base_url), max_retries=1)
        async with run_tools(tool_urls, tool_run.credential) as tools:
            with pytest.raises(openai.InternalServerError) as failure:
                await run_trading_day(
                    llm=model,
                    tools=list(tools.values()),
                    context=day_context(tool_run.run.id, [px.SYMBOL]),
                    max_steps=5,
                )
    assert "500" in str(failure.value) and "The upstream model is overloaded." in str(failure.value)
    assert len(fake.requests) == 2  # the first try and one retry
