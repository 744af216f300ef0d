"""The trading graph's nodes (the agent turn and the tool calls) and its routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import anyio
import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from agents.trading.state import TradingState

AGENT = "agent"
TOOLS = "tools"
END = "__end__"

# Failures of the connection to a tool server are not the model's mistake: they end the step so the
# worker's retry policy applies, instead of becoming a tool message.
TRANSPORT_ERRORS = (httpx.TransportError, ConnectionError, anyio.ClosedResourceError, anyio.BrokenResourceError)


def make_agent_node(llm: BaseChatModel, tools: Sequence[BaseTool]) -> Callable[..., Awaitable[dict[str, Any]]]:
    model = llm.bind_tools(list(tools)) if tools else llm

    async def agent(state: TradingState, config: RunnableConfig) -> dict[str, Any]:
        response = await model.ainvoke(state["messages"], config)
        usage = getattr(response, "usage_metadata", None) or {}
        return {
            "messages": [response],
            "steps": 1,
            "llm_calls": 1,
            "input_tokens": int(usage.get("input_tokens") or 0),
            "output_tokens": int(usage.get("output_tokens") or 0),
        }

    return agent


def tool_error_message(error: Exception) -> str:
    """What the model reads when a tool raises: the error in a sentence (transport failures propagate)."""
    if isinstance(error, TRANSPORT_ERRORS):
        raise error
    text = str(error).strip() or type(error).__name__
    return f"Error: {text}. Check the tool's arguments and try again, or carry on without it."


def text_content(content: Any) -> str:
    """A message's content as plain text: text blocks joined, other blocks summarised."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif isinstance(block, dict):
            parts.append(f"[{block.get('type', 'content')}]")
    return "\n".join(parts)


async def _plain_text_results(
    request: ToolCallRequest, execute: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command]]
) -> ToolMessage | Command:
    """MCP tools answer with content blocks; the model and the logs get their text as one string."""
    result = await execute(request)
    if isinstance(result, ToolMessage) and not isinstance(result.content, str):
        result.content = text_content(result.content)
    return result


def make_tool_node(tools: Sequence[BaseTool]) -> ToolNode:
    return ToolNode(list(tools), name=TOOLS, handle_tool_errors=tool_error_message, awrap_tool_call=_plain_text_results)


def _last_ai(state: TradingState) -> AIMessage | None:
    messages = state["messages"]
    return messages[-1] if messages and isinstance(messages[-1], AIMessage) else None


def after_agent(state: TradingState) -> Literal["tools", "__end__"]:
    """The model's tool calls run (even on its last allowed turn, so every order it gave is answered)."""
    last = _last_ai(state)
    return TOOLS if last is not None and last.tool_calls else END


def after_tools(state: TradingState) -> Literal["agent", "__end__"]:
    """Back to the model while it has turns left for this day."""
    return AGENT if state.get("steps", 0) < state["max_steps"] else END
