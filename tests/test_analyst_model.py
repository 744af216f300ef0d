"""local/analyst as a chat model: it picks the tool a question needs, answers from the tool's result in
sentences, streams token by token with usage on the last chunk, and answers the same way every time."""

from __future__ import annotations

import json
import time

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage

from agents.chat import prompts
from agents.chat.analyst_model import AnalystModel
from agents.chat.answers import HELP
from agents.chat.questions import tool_request
from agents.chat.titles import fallback_title
from agents.chat.tools import TOOL_NAMES
from agents.llm import load_chat_model

PERFORMANCE = {
    "model": {"name": "Alpha", "signature": "alpha-1"},
    "runNumber": 3,
    "status": "COMPLETED",
    "mode": "DAILY",
    "startDate": "2025-01-02",
    "endDate": "2025-01-31",
    "symbol": None,
    "tradeCount": 12,
    "performance": {
        "initialValue": 10000.0,
        "finalValue": 10412.0,
        "totalReturn": 0.0412,
        "annualizedReturn": 0.62,
        "volatility": 0.18,
        "sharpeRatio": 1.2345,
        "sortinoRatio": None,
        "maxDrawdown": 0.025,
        "winRate": 0.6,
        "totalTrades": 12,
        "tradingDays": 21,
    },
}
SYSTEM = SystemMessage(
    prompts.system_prompt([("Conversation model", "Alpha (signature alpha-1)")], instructions=None, summary=None)
)


def analyst() -> AnalystModel:
    return AnalystModel().bind_tools(
        [
            {"type": "function", "function": {"name": name, "description": name, "parameters": {"type": "object"}}}
            for name in TOOL_NAMES
        ]
    )


def answered(question: str, name: str, args: dict, result: object) -> list:
    text = result if isinstance(result, str) else json.dumps(result)
    return [
        SYSTEM,
        HumanMessage(question),
        AIMessage("", tool_calls=[{"name": name, "args": args, "id": "call_1"}]),
        ToolMessage(text, tool_call_id="call_1"),
    ]


@pytest.mark.parametrize(
    ("question", "call"),
    [
        ("how did run 3 do?", ("run_performance", {"run_number": 3})),
        ('What was the Sharpe of run #4 of "Alpha"?', ("run_performance", {"run_number": 4, "model": "Alpha"})),
        ("how is model alpha-1 doing?", ("run_performance", {"model": "alpha-1"})),
        ("compare runs 1 and 2", ("compare_runs", {"run_numbers": [1, 2]})),
        ("run 1 vs run 3, which was better?", ("compare_runs", {"run_numbers": [1, 3]})),
        ("what trades did it make on 2025-01-15?", ("positions", {"from_date": "2025-01-15", "to_date": "2025-01-15"})),
        (
            "trades of run 2 between 2025-01-10 and 2025-01-02",
            ("positions", {"run_number": 2, "from_date": "2025-01-02", "to_date": "2025-01-10"}),
        ),
        ("why did it sell on 2025-01-15?", ("reasoning_logs", {"date": "2025-01-15"})),
        ("list my models", ("list_models_and_runs", {})),
        ("which runs do I have?", ("list_models_and_runs", {})),
        ("good morning", None),
        ("who won the arena 'Tech Q1' and why?", ("arena_standings", {"arena": "Tech Q1"})),
        ("how is my latest arena going?", ("arena_standings", {})),
    ],
)
def test_questions_pick_the_tool_and_arguments_that_answer_them(question, call):
    assert tool_request(question) == call


async def test_a_question_first_asks_its_tool_without_any_text():
    message = await analyst().ainvoke([SYSTEM, HumanMessage("how did run 3 do?")])
    assert message.content == ""
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("run_performance", {"run_number": 3})]
    assert message.response_metadata["finish_reason"] == "tool_calls"


async def test_performance_is_said_in_sentences_with_percentages():
    message = await analyst().ainvoke(answered("how did run 3 do?", "run_performance", {"run_number": 3}, PERFORMANCE))
    assert message.tool_calls == []
    text = message.content
    assert text.startswith("Run 3 of Alpha (alpha-1) is completed, a daily backtest from 2025-01-02 to 2025-01-31.")
    assert "It returned +4.12%, from $10,000.00 to $10,412.00, over 21 trading days." in text
    assert "Its Sharpe ratio is 1.23 and its maximum drawdown was 2.50%." in text
    assert "It made 12 trades, and 60.00% of its sells beat their average cost." in text
    assert "annualized return +62.00%" in text and "Sortino" not in text


async def test_a_run_without_figures_yet_says_so():
    running = {**PERFORMANCE, "status": "RUNNING", "tradeCount": 1, "performance": None}
    message = await analyst().ainvoke(answered("how did run 3 do?", "run_performance", {}, running))
    assert "is running" in message.content and "no performance figures" in message.content
    assert "made 1 trade so far" in message.content


async def test_a_comparison_says_each_metric_and_which_run_is_better():
    runs = [
        {"runNumber": 1, "status": "COMPLETED", "tradeCount": 4, "performance": PERFORMANCE["performance"]},
        {
            "runNumber": 2,
            "status": "COMPLETED",
            "tradeCount": 9,
            "performance": {
                **PERFORMANCE["performance"],
                "totalReturn": -0.01,
                "sharpeRatio": -0.5,
                "maxDrawdown": 0.08,
                "volatility": 0.3,
                "winRate": None,
            },
        },
    ]
    result = {"model": {"name": "Alpha", "signature": "alpha-1"}, "runs": runs, "notFound": [5]}
    message = await analyst().ainvoke(
        answered("compare runs 1, 2 and 5", "compare_runs", {"run_numbers": [1, 2, 5]}, result)
    )
    assert message.content.splitlines() == [message.content]
    sentences = message.content.split(". ")
    assert sentences[0] == "Comparing runs 1 and 2 of Alpha (alpha-1)"
    assert "Not found: run 5" in sentences
    assert "Total return: run 1 +4.12%, run 2 -1.00%; run 1 is best (higher is better)" in sentences
    assert "Maximum drawdown: run 1 2.50%, run 2 8.00%; run 1 is best (lower is better)" in sentences
    assert "Win rate: run 1 60.00%, run 2 not available" in sentences
    assert message.content.endswith("Trades: run 1 4, run 2 9.")


def arena_result(status: str, standings: list[dict]) -> dict:
    return {
        "arena": {"name": "Tech Q1", "status": status, "startDate": "2025-01-02", "endDate": "2025-03-31"},
        "benchmarks": [
            {"kind": "BUY_AND_HOLD", "label": "Buy and hold AAPL, MSFT (equal weight)", "totalReturn": 0.05}
        ],
        "standings": standings,
        "leader": {
            "model": standings[0]["model"],
            "trades": [{"date": "2025-01-02", "action": "BUY", "symbol": "AAPL", "amount": 10, "price": 243.85}],
            "moreTrades": 0,
            "notes": [{"date": "2025-01-02", "text": "AAPL's average crossed above; buying."}],
        },
    }


def standing(rank: int, model: str, total: float | None, excess: float | None) -> dict:
    return {
        "rank": rank,
        "model": model,
        "aiModel": "local/momentum",
        "totalReturn": total,
        "sharpeRatio": 1.5,
        "maxDrawdown": 0.04,
        "trades": 3,
        "llmCalls": 60,
        "excessReturn": excess,
    }


async def test_an_arena_winner_is_named_with_its_return_against_the_baseline_and_its_trades_and_words():
    result = arena_result("COMPLETED", [standing(1, "Alpha", 0.12, 0.07), standing(2, "Beta", -0.02, -0.07)])
    text = (await analyst().ainvoke(answered("who won the arena?", "arena_standings", {}, result))).content
    assert text.startswith('The arena "Tech Q1" (2025-01-02 to 2025-03-31) is completed.')
    assert "Alpha (local/momentum) won with a total return of +12.00%." in text
    assert "That is +7.00% against the baseline (Buy and hold AAPL, MSFT (equal weight), +5.00%), beating it." in text
    assert "Its Sharpe ratio was 1.50 and its maximum drawdown 4.00%, over 3 trades and 60 LLM calls." in text
    assert "Its trades: bought 10 AAPL at $243.85 on 2025-01-02." in text
    assert 'On 2025-01-02 it wrote: "AAPL\'s average crossed above; buying."' in text
    assert text.endswith("The rest: 2. Beta -2.00% (-7.00% vs the baseline).")


async def test_a_running_arena_has_a_leader_a_tie_is_shared_and_no_closes_mean_no_leader():
    running = arena_result("RUNNING", [standing(1, "Alpha", 0.01, -0.00001), standing(3, "Gamma", None, None)])
    text = (await analyst().ainvoke(answered("arena?", "arena_standings", {}, running))).content
    assert "Alpha (local/momentum) leads with a total return of +1.00%." in text
    assert "That is +0.00% against the baseline" in text and "matching it" in text
    assert "3. Gamma not available" in text
    tied = arena_result("COMPLETED", [standing(1, "Alpha", 0.02, 0.0), standing(1, "Beta", 0.02, 0.0)])
    text = (await analyst().ainvoke(answered("arena?", "arena_standings", {}, tied))).content
    assert "Alpha and Beta share first place with a total return of +2.00%." in text
    waiting = {**arena_result("QUEUED", [standing(1, "Alpha", None, None)]), "leader": None}
    text = (await analyst().ainvoke(answered("arena?", "arena_standings", {}, waiting))).content
    assert text.endswith("None of its 1 run has a closing value yet, so nobody leads.")


async def test_trades_are_listed_and_steps_without_trades_are_not():
    result = {
        "model": {"name": "Alpha", "signature": "alpha-1"},
        "runNumber": 3,
        "fromDate": "2025-01-15",
        "toDate": "2025-01-15",
        "count": 3,
        "truncated": False,
        "positions": [
            {
                "date": "2025-01-15",
                "action": "BUY",
                "symbol": "AAPL",
                "amount": 10,
                "price": 243.85,
                "cash": 7561.5,
                "holdings": {"AAPL": 10},
            },
            {
                "date": "2025-01-15",
                "action": "NO_TRADE",
                "symbol": None,
                "amount": None,
                "price": None,
                "cash": 7561.5,
                "holdings": {"AAPL": 10},
            },
            {
                "date": "2025-01-15",
                "action": "SELL",
                "symbol": "AAPL",
                "amount": 4,
                "price": 250.1,
                "cash": 8561.9,
                "holdings": {"AAPL": 6},
            },
        ],
    }
    message = await analyst().ainvoke(answered("what trades did it make on 2025-01-15?", "positions", {}, result))
    assert message.content == (
        "Run 3 of Alpha (alpha-1) made 2 trades on 2025-01-15: bought 10 AAPL at $243.85; "
        "sold 4 AAPL at $250.10. Afterwards it held 6 AAPL and $8,561.90 in cash."
    )
    quiet = {**result, "positions": result["positions"][1:2], "count": 1}
    message = await analyst().ainvoke(answered("what trades did it make on 2025-01-15?", "positions", {}, quiet))
    assert message.content == "Run 3 of Alpha (alpha-1) made no trades on 2025-01-15 (1 step without a trade)."


async def test_models_and_runs_are_listed():
    result = {
        "models": [
            {
                "name": "Alpha",
                "signature": "alpha-1",
                "aiModel": "local/momentum",
                "runs": [
                    {"runNumber": 1, "status": "COMPLETED", "finalReturn": 0.0412, "tradeCount": 12},
                    {"runNumber": 2, "status": "RUNNING", "finalReturn": None, "tradeCount": 1},
                ],
            },
            {"name": "Beta", "signature": "beta", "aiModel": "openai/gpt-5", "runs": []},
        ],
        "moreModels": False,
    }
    message = await analyst().ainvoke(answered("list my models", "list_models_and_runs", {}, result))
    assert message.content == (
        "You have 2 models. Alpha (alpha-1, local/momentum) has 2 runs: run 1 completed, "
        "+4.12%, 12 trades; run 2 running, 1 trade. Beta (beta, openai/gpt-5) has no runs yet."
    )


async def test_not_found_and_other_questions_get_helpful_answers():
    message = await analyst().ainvoke(
        answered("how did run 9 do?", "run_performance", {"run_number": 9}, "Not found: Alpha (alpha-1) has no run 9.")
    )
    assert message.content.startswith("Not found: Alpha (alpha-1) has no run 9. I can only see your own models")
    assert (await analyst().ainvoke([SYSTEM, HumanMessage("What's the weather like?")])).content == HELP
    unbound = await AnalystModel().ainvoke([SYSTEM, HumanMessage("how did run 3 do?")])
    assert unbound.tool_calls == [] and "run_performance tool is not available" in unbound.content


async def test_it_streams_word_tokens_then_reports_usage_on_the_last_chunk():
    messages = answered("how did run 3 do?", "run_performance", {"run_number": 3}, PERFORMANCE)
    started = time.perf_counter()
    chunks, first_token = [], None
    async for chunk in analyst().astream(messages):
        if first_token is None and chunk.content:
            first_token = time.perf_counter() - started
        chunks.append(chunk)
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    text_chunks = [c for c in chunks if c.content]
    assert len(text_chunks) == len("".join(c.content for c in text_chunks).split()) > 30
    assert all(c.usage_metadata is None for c in chunks[:-1])
    usage = chunks[-1].usage_metadata
    assert usage["output_tokens"] == len("".join(c.content for c in chunks).split())
    assert usage["input_tokens"] > 0 and usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert first_token is not None and first_token < 0.5


async def test_the_same_conversation_gets_the_same_answer():
    messages = answered("how did run 3 do?", "run_performance", {"run_number": 3}, PERFORMANCE)
    assert (await analyst().ainvoke(messages)).content == (await analyst().ainvoke(messages)).content


async def test_it_answers_the_title_and_summary_tasks_deterministically():
    title = await AnalystModel().ainvoke([HumanMessage(prompts.title_prompt("Please compare runs 1 and 2 for me"))])
    assert title.content == fallback_title("Please compare runs 1 and 2 for me") == "Compare runs 1 and 2"
    summary = await AnalystModel().ainvoke(
        [
            HumanMessage(
                prompts.summary_prompt(None, "User: How did run 1 do? Tell me.\nAnalyst: It returned +4.12%. Good.")
            )
        ]
    )
    assert summary.content == "- User asked: How did run 1 do?\n- Analyst answered: It returned +4.12%."


def test_the_factory_makes_the_analyst_for_chat_only(settings):
    assert isinstance(load_chat_model("local/analyst", None, settings, purpose="chat"), AnalystModel)
