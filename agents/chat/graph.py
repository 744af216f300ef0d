"""The chat reply: the shared agent loop with the analyst's turn streamed, its tool calls announced and
ordered, and the analyst tools bound to the asking user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.graph.state import CompiledStateGraph

from agents.agent_loop import (
    LoopState,
    ShouldStop,
    build_agent_loop,
    make_agent_node,
    make_tool_node,
    recursion_limit,
)
from agents.chat import nodes, prompts
from agents.chat.scope import AnalystScope, conversation_facts
from agents.chat.state import ChatRequest, OnToken, OnToolEnd, OnToolStart, ReplyFailed, ReplyResult
from agents.chat.tools import make_analyst_tools, tool_specs

NO_ANSWER = "I could not finish an answer within the steps allowed for one reply. Try a narrower question."


def build_chat_graph(llm: BaseChatModel, tools: Sequence[BaseTool], recorder: nodes.Recorder) -> CompiledStateGraph:
    """The agent loop over one reply: it ends when the model answers without tool calls, on the last
    allowed turn (made without tools, so the model answers with what it has) or when the recorder's
    should_stop says so (asked between tokens and at every step boundary)."""
    return build_agent_loop(
        LoopState,
        agent=make_agent_node(llm, tool_specs(list(tools)), nodes.streamed_turn(recorder), tools_on_last_turn=False),
        tools=make_tool_node(tools, around=nodes.announced_calls(recorder)),
        should_stop=recorder.stop_requested,
        name="chat_reply",
    )


def history_messages(history: Sequence[dict]) -> list[BaseMessage]:
    """Stored messages as chat messages: user ones as human, assistant ones as AI (others skipped)."""
    messages: list[BaseMessage] = []
    for item in history:
        role, content = str(item.get("role", "")).lower(), str(item.get("content") or "")
        if role == "user":
            messages.append(HumanMessage(content))
        elif role == "assistant" and content:
            messages.append(AIMessage(content))
    return messages


async def initial_messages(request: ChatRequest, scope: AnalystScope) -> list[BaseMessage]:
    system = prompts.system_prompt(
        await conversation_facts(scope), instructions=request.instructions, summary=request.summary
    )
    return [SystemMessage(system), *history_messages(request.history), HumanMessage(request.message)]


async def stream_reply(
    *,
    llm: BaseChatModel,
    request: ChatRequest,
    on_token: OnToken,
    on_tool_start: OnToolStart,
    on_tool_end: OnToolEnd,
    should_stop: ShouldStop | None = None,
    max_steps: int = 8,
) -> ReplyResult:
    """Answers `request.message` as the analyst, streaming the reply through the callbacks.

    The concatenation of every token given to on_token is the result's content, exactly. Tools read
    only `request.user_id`'s models and runs. `should_stop` is awaited between streamed tokens and at
    every step boundary; when it answers True the reply ends with what was generated so far and
    cut_short=True. A failure of the LLM part-way raises ReplyFailed carrying the partial reply.
    """
    config: RunnableConfig = {
        "recursion_limit": recursion_limit(max_steps),
        "run_name": "chat_reply",
        "metadata": {"conversation_id": request.conversation_id},
    }
    recorder = nodes.Recorder(
        on_token=on_token, on_tool_start=on_tool_start, on_tool_end=on_tool_end, should_stop=should_stop
    )
    scope = AnalystScope(user_id=request.user_id, model_id=request.model_id, run_id=request.run_id)
    tools = make_analyst_tools(scope)
    graph = build_chat_graph(llm, tools, recorder)
    state: dict[str, Any] = {"messages": await initial_messages(request, scope), "max_steps": max_steps, "steps": 0}
    if await recorder.stop_requested():
        return recorder.result()
    try:
        await graph.ainvoke(state, config)
    except Exception as error:
        partial = recorder.result()
        partial.cut_short = True
        raise ReplyFailed(f"{type(error).__name__}: {error}".strip(": "), partial) from error
    if not recorder.content.strip() and not recorder.cut_short:
        await recorder.token(NO_ANSWER)
    return recorder.result()
