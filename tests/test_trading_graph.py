"""A trading day through the graph with the local strategies and the real price and trade MCP servers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest_asyncio
from langchain_core.tools import BaseTool
from langchain_mcp_adapters.tools import load_mcp_tools
from langgraph.checkpoint.memory import InMemorySaver

from agents.llm import load_chat_model
from agents.trading import DayContext, DayResult, run_trading_day
from agents.trading.graph import shared_trading_graph
from db_models.market import PriceBar, PriceInterval
from db_models.runs import ActionType, Position, Run, TradingMode
from db_models.settings import get_settings
from tests.support import price_fixtures as px
from tests.support.tool_servers import ToolRun, call_text, create_running_run, mcp_client, running_tool_servers

DAYS = px.trading_days()
TODAY = 9  # 2025-01-15: only 9 completed daily bars before it
LAST = len(DAYS) - 1  # 2025-01-31: 21 completed bars, enough for a 20-bar average
FALLING = "LKDN"  # opens at 300 - i on day i, closes 0.25 lower: its short average is below the long one


def falling_open(i: int) -> Decimal:
    return Decimal(300 - i)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tool_urls(server_url):
    await px.insert_test_bars()
    await PriceBar.bulk_create(
        [
            PriceBar(
                symbol=FALLING,
                interval=PriceInterval.DAY,
                timestamp=px.session_open(day),
                trade_date=day,
                open=falling_open(i),
                high=falling_open(i) + Decimal("0.5"),
                low=falling_open(i) - Decimal("0.5"),
                close=falling_open(i) - Decimal("0.25"),
                volume=1000,
                source="test",
            )
            for i, day in enumerate(DAYS)
        ]
    )
    try:
        async with running_tool_servers("price", "trade") as urls:
            yield urls
    finally:
        await px.delete_test_bars()
        await PriceBar.filter(symbol=FALLING, source="test").delete()


@asynccontextmanager
async def run_tools(urls: dict[str, str], credential: str) -> AsyncIterator[dict[str, BaseTool]]:
    """The run's price and trade tools over one persistent session per server, as the worker keeps them."""
    client = mcp_client(urls, credential)
    async with client.session("price") as price, client.session("trade") as trade:
        tools = await load_mcp_tools(price) + await load_mcp_tools(trade)
        yield {tool.name: tool for tool in tools}


def day_context(
    tool_run: ToolRun,
    index: int,
    *,
    first_day: bool,
    tickers: list[str],
    mode: str = "DAILY",
    symbol: str | None = None,
) -> DayContext:
    return DayContext(
        run_id=tool_run.run.id,
        mode=mode,
        day=DAYS[index],
        clock_label=f"{DAYS[index].isoformat()} 09:30 America/New_York (open)",
        first_day=first_day,
        day_index=index,
        total_days=len(DAYS),
        cash=Decimal("10000.00"),
        holdings={},
        allowed_tickers=tickers,
        custom_rules=None,
        custom_instructions=None,
        symbol=symbol,
    )


async def trade_day(
    urls, tool_run: ToolRun, model_id: str, context: DayContext, max_steps: int = 10, **options
) -> DayResult:
    async with run_tools(urls, tool_run.credential) as tools:
        return await run_trading_day(
            llm=load_chat_model(model_id, {}, get_settings()),
            tools=list(tools.values()),
            context=context,
            max_steps=max_steps,
            **options,
        )


async def trades(tool_run: ToolRun) -> list[tuple[ActionType, str, int, Decimal]]:
    rows = await Position.filter(run_id=tool_run.run.id).order_by("action_id")
    return [(p.action, p.symbol, p.amount, p.price) for p in rows]


def tool_names(result: DayResult) -> list[str]:
    return [call["name"] for m in result.messages for call in m["tool_calls"]]


async def test_buy_and_hold_buys_the_even_split_at_the_open_then_holds_the_next_day(settings, tool_urls):
    tickers = [px.SYMBOL, px.OTHER]
    tool_run = await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=tickers)

    first = await trade_day(
        tool_urls, tool_run, "local/buy-and-hold", day_context(tool_run, TODAY, first_day=True, tickers=tickers)
    )
    # 5,000.00 a ticker: floor(5000 / 109) = 45 LKAH and floor(5000 / 1109) = 4 LKBH, at today's opens.
    # The two orders go out in one turn and run concurrently: either may fill first.
    assert sorted(await trades(tool_run)) == sorted(
        [(ActionType.BUY, px.SYMBOL, 45, Decimal("109")), (ActionType.BUY, px.OTHER, 4, Decimal("1109"))]
    )
    assert tool_names(first) == ["portfolio", "quote", "buy", "buy"]  # both opens in one quote call
    assert (first.llm_calls, first.steps, first.stopped_by_limit) == (4, 4, False)
    assert first.input_tokens > first.output_tokens > 0
    assert [m["role"] for m in first.messages][:4] == ["system", "user", "assistant", "tool"]
    # Cash after each fill: whichever order filled second leaves 659.00.
    cash_after = sorted(json.loads(m["content"])["cash"] for m in first.messages[-3:-1])
    assert cash_after in ([659.0, float(10000 - 45 * 109)], [659.0, float(10000 - 4 * 1109)])
    assert "Bought 45 LKAH at 109.00" in first.messages[-1]["content"]
    assert json.loads(json.dumps(first.messages)) == first.messages

    await Run.filter(id=tool_run.run.id).update(clock_at=px.session_open(DAYS[TODAY + 1]))
    second = await trade_day(
        tool_urls, tool_run, "local/buy-and-hold", day_context(tool_run, TODAY + 1, first_day=False, tickers=tickers)
    )
    assert tool_names(second) == ["portfolio"]
    assert second.messages[-1]["content"].startswith("Holding 45 LKAH, 4 LKBH with 659.00 cash")
    assert len(await trades(tool_run)) == 2


async def test_momentum_with_a_month_of_history_follows_the_crossover(settings, tool_urls):
    tickers = [px.SYMBOL, FALLING]
    tool_run = await create_running_run(settings, clock_at=px.session_open(DAYS[LAST]), allowed_tickers=tickers)
    async with run_tools(tool_urls, tool_run.credential) as tools:
        await call_text(tools["buy"], symbol=FALLING, amount=10)  # cash left: 10,000 - 10 x 279 = 7,210
    result = await trade_day(
        tool_urls, tool_run, "local/momentum", day_context(tool_run, LAST, first_day=False, tickers=tickers)
    )
    # The falling ticker is sold; the rising one gets floor((7210 / 2) / 121) = 29 shares at its open.
    setup, *today = await trades(tool_run)
    assert setup == (ActionType.BUY, FALLING, 10, Decimal("279"))
    assert sorted(today) == sorted(
        [(ActionType.SELL, FALLING, 10, Decimal("279")), (ActionType.BUY, px.SYMBOL, 29, Decimal("121"))]
    )  # one turn, either order
    summary = result.messages[-1]["content"]
    assert "LKAH: buy 29, the 5-bar average" in summary and "is above the 20-bar average" in summary
    assert "LKDN: sell all 10, the 5-bar average" in summary and "is below the 20-bar average" in summary


async def test_momentum_with_too_little_history_holds(settings, tool_urls):
    tool_run = await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL])
    result = await trade_day(
        tool_urls, tool_run, "local/momentum", day_context(tool_run, TODAY, first_day=True, tickers=[px.SYMBOL])
    )
    assert await trades(tool_run) == []
    assert tool_names(result) == ["portfolio", "indicators", "quote"]  # one turn reads all three
    assert "LKAH: hold, no signal yet (Refused: Only 9 completed bars" in result.messages[-1]["content"]


async def test_an_intraday_decision_buys_at_the_next_bars_open(settings, tool_urls):
    tool_run = await create_running_run(
        settings,
        clock_at=px.hour_start(12),
        allowed_tickers=[px.SYMBOL, px.OTHER],
        mode=TradingMode.INTRADAY,
        bar_interval=PriceInterval.HOUR,
        symbol=px.SYMBOL,
        date=px.HOURLY_DATE,
    )
    context = day_context(
        tool_run, TODAY, first_day=True, tickers=[px.SYMBOL, px.OTHER], mode="INTRADAY", symbol=px.SYMBOL
    )
    await trade_day(tool_urls, tool_run, "local/buy-and-hold", context)
    # Sized at the last close, floor(10000 / 512.25) = 19; filled at the 13:00 bar's open.
    assert await trades(tool_run) == [(ActionType.BUY, px.SYMBOL, 19, px.hourly_open(13))]


async def test_max_steps_bounds_the_llm_turns_of_a_day(settings, tool_urls):
    tool_run = await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL])
    result = await trade_day(
        tool_urls,
        tool_run,
        "local/buy-and-hold",
        day_context(tool_run, TODAY, first_day=True, tickers=[px.SYMBOL]),
        max_steps=2,
    )
    assert (result.llm_calls, result.steps, result.stopped_by_limit) == (2, 2, True)
    assert tool_names(result) == ["portfolio", "quote"]
    assert result.messages[-1]["role"] == "tool"  # the last turn's calls are answered, then the day ends
    assert await trades(tool_run) == []


async def test_should_stop_ends_the_day_at_the_next_step_boundary(settings, tool_urls):
    tool_run = await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL])
    checks = 0

    async def stop_after_first_tool_round() -> bool:
        nonlocal checks
        checks += 1
        return checks > 2  # before the run, then before the first tools: go on; after them: stop

    result = await trade_day(
        tool_urls,
        tool_run,
        "local/buy-and-hold",
        day_context(tool_run, TODAY, first_day=True, tickers=[px.SYMBOL]),
        should_stop=stop_after_first_tool_round,
    )
    assert tool_names(result) == ["portfolio"]
    assert (result.llm_calls, result.stopped_by_limit) == (1, False)
    assert result.messages[-1]["role"] == "tool"
    assert await trades(tool_run) == []


async def test_a_stop_requested_before_the_day_calls_nothing(settings, tool_urls):
    tool_run = await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL])

    async def stop() -> bool:
        return True

    result = await trade_day(
        tool_urls,
        tool_run,
        "local/buy-and-hold",
        day_context(tool_run, TODAY, first_day=True, tickers=[px.SYMBOL]),
        should_stop=stop,
    )
    assert [m["role"] for m in result.messages] == ["system", "user"]
    assert result.llm_calls == 0


async def test_a_checkpointed_day_that_finished_is_not_traded_again(settings, tool_urls):
    tool_run = await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL])
    context = day_context(tool_run, TODAY, first_day=True, tickers=[px.SYMBOL])
    saver = InMemorySaver()
    first = await trade_day(tool_urls, tool_run, "local/buy-and-hold", context, checkpointer=saver)
    again = await trade_day(tool_urls, tool_run, "local/buy-and-hold", context, checkpointer=saver)
    assert again == first
    assert await trades(tool_run) == [(ActionType.BUY, px.SYMBOL, 91, Decimal("109"))]  # floor(10000 / 109)
    other_thread = await trade_day(
        tool_urls, tool_run, "local/buy-and-hold", context, checkpointer=saver, thread_id="another-day"
    )
    assert tool_names(other_thread) == ["portfolio"]  # it holds shares now: nothing more to buy


async def test_a_shared_graph_takes_each_days_stop_check_and_tool_wrapper(settings, tool_urls):
    """One graph serves every day of the model and tools it was built for; what stops a day and what wraps
    its tool calls are that day's own."""
    tool_run = await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL])
    context = day_context(tool_run, TODAY, first_day=True, tickers=[px.SYMBOL])
    llm = load_chat_model("local/buy-and-hold", {}, get_settings())
    async with run_tools(tool_urls, tool_run.credential) as by_name:
        tools = list(by_name.values())
        graph = shared_trading_graph(llm, tools)
        assert shared_trading_graph(llm, list(tools)) is graph
        assert shared_trading_graph(load_chat_model("local/buy-and-hold", {}, get_settings()), tools) is not graph
        assert shared_trading_graph(llm, tools[:1]) is not graph

        async def stop() -> bool:
            return True

        seen: list[str] = []

        async def note(request, execute):
            seen.append(request.tool_call["name"])
            return await execute(request)

        day = {"llm": llm, "tools": tools, "context": context, "max_steps": 10, "graph": graph}
        stopped = await run_trading_day(**day, should_stop=stop, around_tool_call=note)
        assert (stopped.llm_calls, seen) == (0, [])
        traded = await run_trading_day(**day, around_tool_call=note)
    assert seen == tool_names(traded) == ["portfolio", "quote", "buy"]
    assert await trades(tool_run) == [(ActionType.BUY, px.SYMBOL, 91, Decimal("109"))]
