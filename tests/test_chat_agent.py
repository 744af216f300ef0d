"""The analyst chat agent: local/analyst end to end over real tables, tools scoped to the asking user,
streaming, cancellation, titles, summaries, and the remote path through ChatOpenAI."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from decimal import Decimal
from itertools import pairwise

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from agents.chat import ChatRequest, ReplyFailed, ReplyResult, chat_model, make_title, stream_reply, summarise
from agents.chat.analyst_model import AnalystModel
from agents.chat.scope import AnalystScope
from agents.chat.titles import fallback_title
from agents.chat.tools import make_analyst_tools
from agents.llm import ModelUnavailable, load_chat_model
from db_models.accounts import User
from db_models.ledger import apply_trade, record_close
from db_models.runs import ActionType, ReasoningLog, Run, RunStatus, TradingMode
from db_models.trading import TradingModel
from tests.support.fake_openai import Turn, tool_results

TICKERS = ["AAPL", "MSFT"]
CASH = Decimal("10000.00")
# Run 1: buys 10 AAPL at 100 on day 1, sells 5 at 112 on day 3; closes value the portfolio each day.
RUN1_DAYS = [
    (dt.date(2025, 1, 14), {"AAPL": Decimal("104")}),
    (dt.date(2025, 1, 15), {"AAPL": Decimal("95")}),
    (dt.date(2025, 1, 16), {"AAPL": Decimal("112")}),
    (dt.date(2025, 1, 17), {"AAPL": Decimal("118")}),
]


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


async def make_owner(prefix: str) -> User:
    return await User.create(email=f"{prefix}-{uuid.uuid4().hex[:10]}@example.com", password_hash="x")


async def make_model(owner: User, name: str = "Momentum Alpha", signature: str | None = None) -> TradingModel:
    return await TradingModel.create(
        owner=owner,
        name=name,
        signature=signature or f"sig-{uuid.uuid4().hex[:6]}",
        allowed_tickers=TICKERS,
        initial_cash=CASH,
        ai_model="local/momentum",
    )


async def make_run(model: TradingModel, number: int, days, trades) -> Run:
    """A completed daily run with the given trades ({date: [(action, symbol, amount, price)]}) and closes."""
    run = await Run.create(
        model=model,
        run_number=number,
        mode=TradingMode.DAILY,
        status=RunStatus.COMPLETED,
        start_date=days[0][0],
        end_date=days[-1][0],
        strategy_snapshot={"allowed_tickers": TICKERS, "initial_cash": str(CASH)},
    )
    for day, prices in days:
        for action, symbol, amount, price in trades.get(day, []):
            await apply_trade(
                run,
                action=action,
                symbol=symbol,
                amount=amount,
                price=Decimal(price),
                date=day,
                timestamp=at(day, 14),
                allowed_tickers=TICKERS,
            )
        await record_close(run, date=day, timestamp=at(day, 21), prices=prices)
    return await Run.get(id=run.id)


@pytest.fixture
async def account(server_url):
    """A user with a model holding two runs (run 1 as RUN1_DAYS, run 2 losing), and a reasoning log."""
    owner = await make_owner("analyst")
    model = await make_model(owner)
    run1 = await make_run(
        model,
        1,
        RUN1_DAYS,
        {
            RUN1_DAYS[0][0]: [(ActionType.BUY, "AAPL", 10, "100")],
            RUN1_DAYS[2][0]: [(ActionType.SELL, "AAPL", 5, "112")],
        },
    )
    days2 = [
        (dt.date(2025, 2, 3), {"MSFT": Decimal("400")}),
        (dt.date(2025, 2, 4), {"MSFT": Decimal("380")}),
        (dt.date(2025, 2, 5), {"MSFT": Decimal("390")}),
    ]
    run2 = await make_run(model, 2, days2, {days2[0][0]: [(ActionType.BUY, "MSFT", 20, "400")]})
    await ReasoningLog.create(
        run=run1,
        date=RUN1_DAYS[2][0],
        timestamp=at(RUN1_DAYS[2][0], 14),
        messages=[
            {"role": "system", "content": "rules"},
            {"role": "user", "content": "Decide."},
            {
                "role": "assistant",
                "content": "AAPL rallied to 112, taking profit on half.",
                "tool_calls": [{"id": "c1", "name": "sell", "args": {"symbol": "AAPL", "amount": 5}}],
            },
            {"role": "tool", "content": "Sold 5 AAPL at 112.00", "name": "sell", "tool_call_id": "c1"},
        ],
    )
    return owner, model, run1, run2


def request_for(
    owner: User,
    message: str,
    *,
    model: TradingModel | None = None,
    run: Run | None = None,
    history: list[dict] | None = None,
) -> ChatRequest:
    return ChatRequest(
        user_id=owner.id,
        conversation_id=1,
        model_id=model.id if model else None,
        run_id=run.id if run else None,
        summary=None,
        history=history or [],
        message=message,
        instructions=None,
    )


class Stream:
    """Collects what stream_reply reports, in order."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.events: list[tuple] = []

    async def token(self, text: str) -> None:
        self.tokens.append(text)

    async def tool_start(self, name: str, args: dict) -> None:
        self.events.append(("start", name, args))

    async def tool_end(self, name: str, output: str) -> None:
        self.events.append(("end", name, output))

    async def reply(self, llm: BaseChatModel, request: ChatRequest, **options) -> ReplyResult:
        return await stream_reply(
            llm=llm,
            request=request,
            on_token=self.token,
            on_tool_start=self.tool_start,
            on_tool_end=self.tool_end,
            **options,
        )


def expected_figures(values: list[float], initial: float = float(CASH)) -> dict[str, float]:
    """Total return, Sharpe and max drawdown of a daily curve, computed here from the formulas of docs/metrics.md."""
    curve = [initial, *values]
    returns = [b / a - 1 for a, b in pairwise(curve)]
    mean = sum(returns) / len(returns)
    std = (sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)) ** 0.5
    peak, drawdown = curve[0], 0.0
    for value in curve:
        peak = max(peak, value)
        drawdown = max(drawdown, 1 - value / peak)
    return {"total_return": curve[-1] / initial - 1, "sharpe": mean / std * 252**0.5, "max_drawdown": drawdown}


async def test_the_analyst_answers_how_a_run_did_with_its_figures_in_sentences(account):
    owner, model, _run1, _ = account
    stream = Stream()
    result = await stream.reply(AnalystModel(), request_for(owner, "How did run 1 do?", model=model))

    # Cash 10000 -> buy 10 at 100 (9000 cash) -> closes 104, 95; sell 5 at 112 (9560 cash) -> closes 112, 118.
    values = [9000 + 10 * 104, 9000 + 10 * 95, 9560 + 5 * 112, 9560 + 5 * 118]
    figures = expected_figures(values)
    assert f"returned {figures['total_return'] * 100:+.2f}%" in result.content
    assert f"Sharpe ratio is {figures['sharpe']:.2f}" in result.content
    assert f"maximum drawdown was {figures['max_drawdown'] * 100:.2f}%" in result.content
    assert "made 2 trades" in result.content
    assert "Run 1 of Momentum Alpha" in result.content
    assert "".join(stream.tokens) == result.content and len(stream.tokens) > 20
    assert [e[:2] for e in stream.events] == [("start", "run_performance"), ("end", "run_performance")]
    assert stream.events[0][2] == {"run_number": 1}
    assert len(stream.events[1][2]) <= 500 and '"runNumber":1' in stream.events[1][2]
    assert result.tool_calls == [{"name": "run_performance", "input": {"run_number": 1}, "output": stream.events[1][2]}]
    assert (result.cut_short, result.llm_calls) == (False, 2)
    assert result.input_tokens > 0 and result.output_tokens >= len(result.content.split())


async def test_the_analyst_compares_runs_a_sentence_per_metric(account):
    owner, model, _, _ = account
    stream = Stream()
    result = await stream.reply(AnalystModel(), request_for(owner, "compare runs 1 and 2", model=model))
    assert stream.events[0] == ("start", "compare_runs", {"run_numbers": [1, 2]})
    run2 = expected_figures([2000 + 20 * 400, 2000 + 20 * 380, 2000 + 20 * 390])
    assert f"run 2 {run2['total_return'] * 100:+.2f}%" in result.content
    assert result.content.startswith(f"Comparing runs 1 and 2 of Momentum Alpha ({model.signature}).")
    for label in ("Total return:", "Sharpe ratio:", "Maximum drawdown:", "Volatility:", "Win rate:", "Trades:"):
        assert label in result.content
    assert "run 1 is best (higher is better)" in result.content
    assert "".join(stream.tokens) == result.content


async def test_the_analyst_lists_the_trades_of_a_date_and_the_reasoning_behind_them(account):
    owner, model, run1, _ = account
    stream = Stream()  # "it" is the conversation's run
    trades = await stream.reply(
        AnalystModel(), request_for(owner, "What trades did it make on 2025-01-16?", model=model, run=run1)
    )
    assert stream.events[0] == ("start", "positions", {"from_date": "2025-01-16", "to_date": "2025-01-16"})
    assert "made 1 trade on 2025-01-16: sold 5 AAPL at $112.00" in trades.content
    assert "Afterwards it held 5 AAPL and $9,560.00 in cash." in trades.content

    why = await Stream().reply(
        AnalystModel(), request_for(owner, "Why did it sell on 2025-01-16 in run 1?", model=model)
    )
    assert why.tool_calls[0]["input"] == {"run_number": 1, "date": "2025-01-16"}
    assert "taking profit on half" in why.content and "sell(amount=5, symbol=AAPL)" in why.content


async def test_the_analyst_lists_models_and_explains_itself_when_asked_anything_else(account):
    owner, model, _, _ = account
    listed = await Stream().reply(AnalystModel(), request_for(owner, "list my models"))
    assert listed.tool_calls[0]["name"] == "list_models_and_runs"
    assert f"You have 1 model. Momentum Alpha ({model.signature}, local/momentum) has 2 runs" in listed.content

    stream = Stream()
    hello = await stream.reply(AnalystModel(), request_for(owner, "hello!"))
    assert "how did run 1 do?" in hello.content and stream.events == [] and hello.llm_calls == 1


async def test_a_general_conversation_of_a_user_with_one_model_defaults_to_it(account):
    owner, _, _, _ = account
    result = await Stream().reply(AnalystModel(), request_for(owner, "how did run 2 do?"))
    assert "Run 2 of Momentum Alpha" in result.content


async def test_another_users_models_and_runs_answer_not_found_through_every_argument(account):
    _owner, model, run1, _ = account
    intruder = await make_owner("mallory")
    own = await make_model(intruder, name="Mine", signature="mine")
    # The intruder asks by the victim's model name, signature and db id, and in a conversation claiming it.
    for question in (
        f'how did run 1 of "{model.name}" do?',
        f"how did run 1 of model {model.signature} do?",
        f'how did run 1 of "{model.id}" do?',
    ):
        result = await Stream().reply(AnalystModel(), request_for(intruder, question))
        assert "Not found:" in result.content and "Momentum Alpha" not in result.content.replace(model.name, "", 1)
        assert "returned" not in result.content
    claimed = ChatRequest(
        user_id=intruder.id,
        conversation_id=2,
        model_id=model.id,
        run_id=run1.id,
        summary=None,
        history=[],
        message="how did run 1 do?",
        instructions=None,
    )
    result = await Stream().reply(AnalystModel(), claimed)
    assert "Not found: Mine (mine) has no run 1." in result.content

    tools = {
        t.name: t for t in make_analyst_tools(AnalystScope(user_id=intruder.id, model_id=model.id, run_id=run1.id))
    }
    for reference in (model.name, model.signature, str(model.id)):
        missing = await tools["run_performance"].ainvoke({"run_number": 1, "model": reference})
        assert missing == f"Not found: you have no model called {reference!r}."
        for name, args in (("compare_runs", {"run_numbers": [1, 2]}), ("positions", {}), ("reasoning_logs", {})):
            assert (await tools[name].ainvoke({**args, "model": reference})).startswith("Not found:")
    listing = json.loads(await tools["list_models_and_runs"].ainvoke({}))
    assert [m["signature"] for m in listing["models"]] == [own.signature]
    assert (await tools["positions"].ainvoke({})) == "Not found: Mine (mine) has no runs yet."


async def test_should_stop_mid_answer_keeps_what_was_streamed_and_marks_it_cut_short(account):
    owner, model, _, _ = account
    stream = Stream()

    async def stop_after_five_tokens() -> bool:
        return len(stream.tokens) >= 5

    result = await stream.reply(
        AnalystModel(), request_for(owner, "how did run 1 do?", model=model), should_stop=stop_after_five_tokens
    )
    assert result.cut_short and len(stream.tokens) == 5
    assert result.content == "".join(stream.tokens) and result.content.startswith("Run 1 of Momentum")
    assert [e[1] for e in stream.events] == ["run_performance", "run_performance"]


async def test_should_stop_before_the_tools_run_ends_the_reply_without_calling_them(account):
    owner, model, _, _ = account
    stream = Stream()
    asked = []

    async def stop_at_the_first_step_boundary() -> bool:
        asked.append(1)
        return len(asked) >= 2  # the first check is before the model is called

    result = await stream.reply(
        AnalystModel(),
        request_for(owner, "how did run 1 do?", model=model),
        should_stop=stop_at_the_first_step_boundary,
    )
    assert result.cut_short and result.content == "" and stream.events == [] and result.tool_calls == []


async def test_max_steps_bounds_the_loop_and_the_last_step_answers_without_tools(account):
    owner, model, _, _ = account
    result = await Stream().reply(AnalystModel(), request_for(owner, "how did run 1 do?", model=model), max_steps=1)
    assert result.llm_calls == 1 and result.tool_calls == [] and "not available" in result.content


async def test_make_title_gives_three_to_five_words_and_falls_back_when_the_llm_fails():
    class Broken(AnalystModel):
        async def _astream(self, *args, **kwargs):
            raise RuntimeError("upstream down")
            yield  # pragma: no cover

    message = "How did run 3 of my momentum model do last week?"
    for llm in (None, Broken(), AnalystModel()):
        title = await make_title(llm, message)
        assert title == fallback_title(message) == "How did run 3"
    assert fallback_title("hi") == "Chat about hi"
    assert fallback_title("") == "New analyst conversation"
    assert fallback_title("   ???  ") == "New analyst conversation"
    long_word = fallback_title("x" * 500 + " y z w")
    assert 3 <= len(long_word.split()) <= 5 and len(long_word) <= 80


async def test_summarise_works_with_and_without_an_llm():
    messages = [
        {"role": "user", "content": "How did run 1 do? I want details."},
        {"role": "assistant", "content": "Run 1 returned +5.90%. Its Sharpe ratio is 1.20."},
    ]
    plain = await summarise(None, "They talked about run 2.", messages)
    assert plain == (
        "Earlier: They talked about run 2.\n- User asked: How did run 1 do?\n- Analyst answered: Run 1 returned +5.90%."
    )
    assert await summarise(AnalystModel(), "They talked about run 2.", messages) == plain
    assert await summarise(None, None, []) == "No messages to summarise yet."
    many = [{"role": "user", "content": f"Question {i} " + "word " * 60} for i in range(200)]
    assert len(await summarise(None, None, many)) <= 2000


def test_chat_model_gives_the_analyst_locally_and_remote_models_through_the_factory(settings):
    for model_id in (None, "", "local/analyst", "local/momentum"):
        assert isinstance(chat_model(model_id, None, settings), AnalystModel)
    remote = chat_model("openai/gpt-5", {"temperature": 0.2}, settings)
    assert isinstance(remote, ChatOpenAI) and remote.temperature == 0.2
    with pytest.raises(ModelUnavailable, match="not a trading model"):
        load_chat_model("local/analyst", None, settings)
    with pytest.raises(ModelUnavailable, match="needs an API key"):
        chat_model("openai/gpt-5", None, dataclasses.replace(settings, openai_api_key=None))


def performance_then_answer(messages: list[dict], tools: list[dict]) -> Turn:
    """Calls run_performance for run 1, then answers with its total return."""
    results = tool_results(messages)
    if not results:
        return Turn("Let me check.", [("run_performance", {"run_number": 1})])
    figures = json.loads(results[-1][1])["performance"]
    return Turn(f"Run 1 returned {figures['totalReturn'] * 100:+.2f}% over {figures['tradingDays']} days.")


async def test_a_remote_model_streams_a_reply_with_a_tool_call(account, settings, remote_llm):
    owner, model, _, _ = account
    remote_llm.policy = performance_then_answer
    stream = Stream()
    llm = chat_model("openai/gpt-5", {"temperature": 0.1}, settings)
    result = await stream.reply(
        llm,
        request_for(
            owner,
            "How did run 1 do?",
            model=model,
            history=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}],
        ),
    )
    expected = expected_figures([10040, 9950, 10120, 10150])
    assert result.content == f"Let me check.\n\nRun 1 returned {expected['total_return'] * 100:+.2f}% over 4 days."
    assert "".join(stream.tokens) == result.content and len(stream.tokens) >= 8
    assert [e[:2] for e in stream.events] == [("start", "run_performance"), ("end", "run_performance")]
    assert result.tool_calls[0]["input"] == {"run_number": 1}
    assert (result.llm_calls, result.cut_short) == (2, False)
    assert result.input_tokens == sum(u["prompt_tokens"] for u in remote_llm.usage_reports)
    first = remote_llm.requests[0]
    assert first["model"] == "openai/gpt-5" and first["temperature"] == 0.1 and first["stream"] is True
    assert {t["function"]["name"] for t in first["tools"]} == {
        "list_models_and_runs",
        "run_performance",
        "compare_runs",
        "positions",
        "reasoning_logs",
        "arena_standings",
    }
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant", "user"]
    assert "Momentum Alpha" in first["messages"][0]["content"]


async def test_a_failure_part_way_raises_with_the_partial_reply(account):
    owner, model, _, _ = account

    class FailsMidAnswer(AnalystModel):
        async def _astream(self, messages, stop=None, run_manager=None, **kwargs):
            count = 0
            async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
                if chunk.message.content and count == 3:
                    raise RuntimeError("connection reset")
                count += bool(chunk.message.content)
                yield chunk

    stream = Stream()
    with pytest.raises(ReplyFailed, match="connection reset") as failed:
        await stream.reply(FailsMidAnswer(), request_for(owner, "how did run 1 do?", model=model))
    partial = failed.value.partial
    assert partial.cut_short and partial.content == "".join(stream.tokens) and len(stream.tokens) == 3
    assert [call["name"] for call in partial.tool_calls] == ["run_performance"]
