"""The agent loop both graphs run: the model's turn, its tool calls, and back, bounded and stoppable.

agent -> tools -> agent ... until the model answers without tool calls, `max_steps` turns are used, or
`should_stop` answers True at a step boundary. The trading day and the chat reply are this loop with a
turn of their own (how the model is called, what is counted or streamed) and, for the chat, a wrapper
around each tool call; the routing, the step bound and what the model reads of a tool are shared.
"""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Literal, TypedDict

import anyio
import httpx
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, ToolMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from agents.message_text import text_content

AGENT = "agent"
TOOLS = "tools"

# Failures of the connection to a tool server are not the model's mistake: they end the step, so the
# caller's failure handling applies (a run retries the step, a chat reply fails keeping what it streamed),
# instead of becoming a tool message telling the model to check its arguments.
TRANSPORT_ERRORS = (httpx.TransportError, ConnectionError, anyio.ClosedResourceError, anyio.BrokenResourceError)


class LoopState(TypedDict):
    """What every loop's state holds. `max_steps` is input; `steps` grows by one per agent turn."""

    messages: Annotated[list[AnyMessage], add_messages]
    max_steps: int
    steps: Annotated[int, operator.add]


ShouldStop = Callable[[], Awaitable[bool]]
ChatModel = Runnable[LanguageModelInput, BaseMessage]
# One call of the model on the conversation, returning the node's update: {"messages": [reply], ...}.
ModelTurn = Callable[[ChatModel, list[AnyMessage], RunnableConfig], Awaitable[dict[str, Any]]]
AgentNode = Callable[[Any, RunnableConfig], Awaitable[dict[str, Any]]]
ExecuteToolCall = Callable[[ToolCallRequest], Awaitable[ToolMessage | Command]]
AroundToolCall = Callable[[ToolCallRequest, ExecuteToolCall], Awaitable[ToolMessage | Command]]


def recursion_limit(max_steps: int) -> int:
    """LangGraph's recursion limit for a loop of `max_steps` turns: an agent and a tools step each, plus slack."""
    if max_steps < 1:
        raise ValueError("max_steps must be at least 1.")
    return 2 * max_steps + 10


def last_ai_message(messages: Sequence[AnyMessage]) -> AIMessage | None:
    """The conversation's last message, when the model wrote it."""
    return messages[-1] if messages and isinstance(messages[-1], AIMessage) else None


def after_agent(state: LoopState) -> Literal["tools", "__end__"]:
    """The model's tool calls run (even on its last allowed turn, so every call it made is answered)."""
    last = last_ai_message(state["messages"])
    return TOOLS if last is not None and last.tool_calls else END


def after_tools(state: LoopState) -> Literal["agent", "__end__"]:
    """Back to the model while it has turns left."""
    return AGENT if state.get("steps", 0) < state["max_steps"] else END


def make_agent_node(
    llm: BaseChatModel, tools: Sequence[Any], turn: ModelTurn, *, tools_on_last_turn: bool
) -> AgentNode:
    """One `turn` of the model, counted as a step. `tools` are what bind_tools takes: tools or their specs.

    On the last allowed turn the model keeps its tools when `tools_on_last_turn` (their calls are answered,
    then the loop ends: a trading day reports it wanted more); otherwise it gets none and has to answer
    with what it has (a chat reply must say something)."""
    with_tools = llm.bind_tools(list(tools)) if tools else llm

    async def agent(state: LoopState, config: RunnableConfig) -> dict[str, Any]:
        last_turn = state.get("steps", 0) + 1 >= state["max_steps"]
        model = llm if last_turn and not tools_on_last_turn else with_tools
        return {**await turn(model, state["messages"], config), "steps": 1}

    return agent


def tool_error_message(error: Exception) -> str:
    """What the model reads when a tool raises: the error in a sentence it can act on.

    Transport failures propagate (see TRANSPORT_ERRORS). The chat once turned them into tool messages
    too; its tools read the database in-process, where only a lost connection raises one, and the model
    cannot mend that by changing its arguments."""
    if isinstance(error, TRANSPORT_ERRORS):
        raise error
    text = str(error).strip() or type(error).__name__
    return f"Error: {text}. Check the tool's arguments and try again, or carry on without it."


def _plain_text(result: ToolMessage | Command) -> ToolMessage | Command:
    """MCP tools answer with content blocks; the model, the logs and the chat read one string."""
    if isinstance(result, ToolMessage) and not isinstance(result.content, str):
        result.content = text_content(result)
    return result


def make_tool_node(tools: Sequence[BaseTool], *, around: AroundToolCall | None = None) -> ToolNode:
    """The model's tool calls, each answered by a tool message in plain text; an error becomes one too.

    `around` wraps each call, and sees its result already as text (the chat announces and orders them)."""

    async def call(request: ToolCallRequest, execute: ExecuteToolCall) -> ToolMessage | Command:
        async def execute_as_text(request: ToolCallRequest) -> ToolMessage | Command:
            return _plain_text(await execute(request))

        return await around(request, execute_as_text) if around else await execute_as_text(request)

    return ToolNode(list(tools), name=TOOLS, handle_tool_errors=tool_error_message, awrap_tool_call=call)


def build_agent_loop(
    state_schema: type[Any],
    *,
    agent: AgentNode,
    tools: ToolNode,
    name: str,
    should_stop: ShouldStop | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
) -> CompiledStateGraph:
    """agent -> tools -> agent ... as the routers say, over `state_schema` (LoopState or a TypedDict
    extending it). `should_stop` is awaited before every step that would follow; when it answers True
    the loop ends with what was done so far."""

    async def stop_requested() -> bool:
        return should_stop is not None and bool(await should_stop())

    async def route_after_agent(state: LoopState) -> Literal["tools", "__end__"]:
        route = after_agent(state)
        return END if route == TOOLS and await stop_requested() else route

    async def route_after_tools(state: LoopState) -> Literal["agent", "__end__"]:
        route = after_tools(state)
        return END if route == AGENT and await stop_requested() else route

    builder = StateGraph(state_schema)
    builder.add_node(AGENT, agent)
    builder.add_node(TOOLS, tools)
    builder.add_edge(START, AGENT)
    builder.add_conditional_edges(AGENT, route_after_agent, [TOOLS, END])
    builder.add_conditional_edges(TOOLS, route_after_tools, [AGENT, END])
    return builder.compile(checkpointer=checkpointer, name=name)
