"""The trading day: the shared agent loop with one model call a turn, its usage counted into the state,
the run's clock in the prompt and the conversation kept as the day's reasoning log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from agents.agent_loop import (
    AroundToolCall,
    ChatModel,
    ShouldStop,
    build_agent_loop,
    make_agent_node,
    make_tool_node,
    recursion_limit,
)
from agents.message_text import text_content
from agents.trading import prompts
from agents.trading.state import DayContext, DayResult, TradingState
from db_models.json_values import storable


async def invoke_and_count(model: ChatModel, messages: list[AnyMessage], config: RunnableConfig) -> dict[str, Any]:
    """One model call; the day's state counts it and the tokens it used."""
    response = await model.ainvoke(messages, config)
    usage = getattr(response, "usage_metadata", None) or {}
    return {
        "messages": [response],
        "llm_calls": 1,
        "input_tokens": int(usage.get("input_tokens") or 0),
        "output_tokens": int(usage.get("output_tokens") or 0),
    }


def build_trading_graph(
    llm: BaseChatModel,
    tools: Sequence[BaseTool],
    *,
    should_stop: ShouldStop | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    around_tool_call: AroundToolCall | None = None,
) -> CompiledStateGraph:
    """The agent loop over a trading day: it ends when the model answers without tool calls, after
    max_steps turns (the last turn's orders are still answered) or when `should_stop` says so.
    `around_tool_call` wraps each tool call (the run times them)."""
    return build_agent_loop(
        TradingState,
        agent=make_agent_node(llm, tools, invoke_and_count, tools_on_last_turn=True),
        tools=make_tool_node(tools, around=around_tool_call),
        should_stop=should_stop,
        checkpointer=checkpointer,
        name="trading_day",
    )


def default_thread_id(context: DayContext) -> str:
    return f"run-{context.run_id}:{context.day.isoformat()}:{context.day_index}"


def initial_state(context: DayContext, max_steps: int) -> dict[str, Any]:
    return {
        "messages": [SystemMessage(prompts.system_prompt(context)), HumanMessage(prompts.day_message(context))],
        "max_steps": max_steps,
        "steps": 0,
        "llm_calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
    }


def message_dict(message: BaseMessage) -> dict[str, Any]:
    """One message as JSON-able data, as a ReasoningLog keeps it."""
    role = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}.get(message.type, message.type)
    tool_calls = [
        {
            "id": call.get("id"),
            "name": call["name"],
            "args": storable(json.loads(json.dumps(call["args"], default=str))),  # the model's, whatever it wrote
        }
        for call in getattr(message, "tool_calls", None) or []
    ]
    return {
        "role": role,
        "content": text_content(message),
        "tool_calls": tool_calls,
        "tool_call_id": message.tool_call_id if isinstance(message, ToolMessage) else None,
        "name": message.name if isinstance(message, ToolMessage) else None,
    }


def day_result(state: dict[str, Any], max_steps: int) -> DayResult:
    messages = list(state.get("messages", []))
    steps = int(state.get("steps", 0))
    last = messages[-1] if messages else None
    wanted_more = isinstance(last, ToolMessage) or (isinstance(last, AIMessage) and bool(last.tool_calls))
    return DayResult(
        messages=[message_dict(m) for m in messages],
        llm_calls=int(state.get("llm_calls", 0)),
        input_tokens=int(state.get("input_tokens", 0)),
        output_tokens=int(state.get("output_tokens", 0)),
        steps=steps,
        stopped_by_limit=steps >= max_steps and wanted_more,
    )


async def run_trading_day(
    *,
    llm: BaseChatModel,
    tools: Sequence[BaseTool],
    context: DayContext,
    max_steps: int,
    should_stop: ShouldStop | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    thread_id: str | None = None,
    graph: CompiledStateGraph | None = None,
) -> DayResult:
    """Runs one trading day (or intraday decision bar) of a run and returns its conversation and usage.

    With a checkpointer, the day's state is kept under `thread_id` (default: run, date and day index):
    a day that already finished is returned as it was, without calling the LLM again, and a day
    interrupted mid-way resumes from its last completed step. `should_stop` is awaited at every step
    boundary; when it answers True the day ends with what was done so far. A caller running many days
    with the same model and tools passes the `graph` it built once with build_trading_graph.
    """
    config: RunnableConfig = {"recursion_limit": recursion_limit(max_steps)}
    graph = graph or build_trading_graph(llm, tools, should_stop=should_stop, checkpointer=checkpointer)
    graph_input: dict[str, Any] | None = initial_state(context, max_steps)
    if checkpointer is not None:
        config["configurable"] = {"thread_id": thread_id or default_thread_id(context)}
        saved = await graph.aget_state(config)
        if saved.values and not saved.next:
            return day_result(saved.values, saved.values.get("max_steps", max_steps))
        if saved.values:
            graph_input = None  # resume the interrupted day
    if should_stop is not None and graph_input is not None and await should_stop():
        return day_result(graph_input, max_steps)
    state: dict[str, Any] = graph_input or {}
    async for values in graph.astream(graph_input, config, stream_mode="values"):
        state = values
    return day_result(state, max_steps)
