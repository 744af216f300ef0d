"""The trading day: the shared agent loop with one model call a turn, its usage counted into the state,
the run's clock in the prompt and the conversation kept as the day's reasoning log."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
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
    ExecuteToolCall,
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


@dataclass(frozen=True)
class DayHooks:
    """What differs between the days a graph runs besides their state: the stop check and the wrapper
    around each tool call. They travel in the day's context, so one graph serves every run of a process."""

    should_stop: ShouldStop | None = None
    around_tool_call: AroundToolCall | None = None


_day_hooks: ContextVar[DayHooks | None] = ContextVar("aibt_trading_day_hooks", default=None)


async def _stop_requested() -> bool:
    hooks = _day_hooks.get()
    should_stop = hooks and hooks.should_stop
    return should_stop is not None and bool(await should_stop())


async def _around_tool_call(request: Any, execute: ExecuteToolCall) -> Any:
    hooks = _day_hooks.get()
    around = hooks and hooks.around_tool_call
    return await around(request, execute) if around else await execute(request)


def build_trading_graph(
    llm: BaseChatModel, tools: Sequence[BaseTool], *, checkpointer: BaseCheckpointSaver | None = None
) -> CompiledStateGraph:
    """The agent loop over a trading day: it ends when the model answers without tool calls, after
    max_steps turns (the last turn's orders are still answered) or when the day's stop check says so.
    The stop check and the wrapper around each tool call are the day's (run_trading_day's arguments)."""
    return build_agent_loop(
        TradingState,
        agent=make_agent_node(llm, tools, invoke_and_count, tools_on_last_turn=True),
        tools=make_tool_node(tools, around=_around_tool_call),
        should_stop=_stop_requested,
        checkpointer=checkpointer,
        name="trading_day",
    )


SHARED_GRAPHS = 64
_shared_graphs: OrderedDict[tuple[int, ...], tuple[BaseChatModel, list[BaseTool], CompiledStateGraph]] = OrderedDict()


def shared_trading_graph(llm: BaseChatModel, tools: Sequence[BaseTool]) -> CompiledStateGraph:
    """The trading graph of a model and tools that the process's runs share (a remote model; the tool
    sessions' tools), built once: building one binds the tools to the model and compiles the loop, a few
    milliseconds of the event loop per run otherwise. Keyed on the objects' identities, which the entry
    keeps alive so they cannot be reused; a model made per run would only churn the cache."""
    key = (id(llm), *map(id, tools))
    entry = _shared_graphs.get(key)
    if entry is None:
        entry = _shared_graphs[key] = (llm, list(tools), build_trading_graph(llm, tools))
        if len(_shared_graphs) > SHARED_GRAPHS:
            _shared_graphs.popitem(last=False)
    _shared_graphs.move_to_end(key)
    return entry[2]


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
    around_tool_call: AroundToolCall | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    thread_id: str | None = None,
    graph: CompiledStateGraph | None = None,
) -> DayResult:
    """Runs one trading day (or intraday decision bar) of a run and returns its conversation and usage.

    With a checkpointer, the day's state is kept under `thread_id` (default: run, date and day index):
    a day that already finished is returned as it was, without calling the LLM again, and a day
    interrupted mid-way resumes from its last completed step. `should_stop` is awaited at every step
    boundary; when it answers True the day ends with what was done so far. `around_tool_call` wraps each
    tool call (a run times them). A caller running many days with the same model and tools passes the
    `graph` it built once (build_trading_graph, shared_trading_graph).
    """
    hooks = _day_hooks.set(DayHooks(should_stop, around_tool_call))
    try:
        return await _run_day(llm, tools, context, max_steps, should_stop, checkpointer, thread_id, graph)
    finally:
        _day_hooks.reset(hooks)


async def _run_day(
    llm: BaseChatModel,
    tools: Sequence[BaseTool],
    context: DayContext,
    max_steps: int,
    should_stop: ShouldStop | None,
    checkpointer: BaseCheckpointSaver | None,
    thread_id: str | None,
    graph: CompiledStateGraph | None,
) -> DayResult:
    config: RunnableConfig = {"recursion_limit": recursion_limit(max_steps)}
    graph = graph or build_trading_graph(llm, tools, checkpointer=checkpointer)
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
