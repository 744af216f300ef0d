"""The chat graph's nodes (the analyst's turn, streamed token by token, and its tool calls) and routers.

Nodes report to a Recorder as they go: every text token of the model (and the separator between the
texts of two turns) goes to on_token and into the reply; every tool call goes to on_tool_start and
on_tool_end, one at a time in the order the model gave them. The reply is all the assistant text of
the turn, in order: text a model writes before its tool calls is part of it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from agents.chat.state import ChatState, OnToken, OnToolEnd, OnToolStart, ReplyResult, ShouldStop

AGENT = "agent"
TOOLS = "tools"
END = "__end__"
SHORT_OUTPUT_CHARS = 500
TURN_SEPARATOR = "\n\n"


def text_content(content: Any) -> str:
    """A message's (or chunk's) text: the string, or its text blocks joined."""
    if isinstance(content, str):
        return content
    return "".join(
        block if isinstance(block, str) else str(block.get("text", ""))
        for block in content or []
        if isinstance(block, str) or (isinstance(block, dict) and block.get("type") == "text")
    )


def short_output(text: str, limit: int = SHORT_OUTPUT_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@dataclass
class Recorder:
    """The callbacks of one reply and what has been streamed so far."""

    on_token: OnToken
    on_tool_start: OnToolStart
    on_tool_end: OnToolEnd
    should_stop: ShouldStop | None = None
    parts: list[str] = field(default_factory=list)
    tool_calls: list[dict] = field(default_factory=list)
    cut_short: bool = False
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def content(self) -> str:
        return "".join(self.parts)

    async def token(self, text: str) -> None:
        if text:
            self.parts.append(text)
            await self.on_token(text)

    async def stop_requested(self) -> bool:
        if self.cut_short:
            return True
        if self.should_stop is not None and await self.should_stop():
            self.cut_short = True
        return self.cut_short

    def result(self) -> ReplyResult:
        return ReplyResult(
            content=self.content,
            tool_calls=list(self.tool_calls),
            cut_short=self.cut_short,
            llm_calls=self.llm_calls,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
        )


def make_agent_node(
    llm: BaseChatModel, tools: Sequence[Any], recorder: Recorder
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """One analyst turn, streamed: tokens reach the recorder as they arrive and should_stop is asked
    between them. The last allowed turn has no tools, so the model answers with what it has.
    `tools` are what bind_tools takes: tools, or their OpenAI specs."""
    with_tools = llm.bind_tools(list(tools)) if tools else llm

    async def agent(state: ChatState, config: RunnableConfig) -> dict[str, Any]:
        last_turn = state.get("steps", 0) + 1 >= state["max_steps"]
        model = llm if last_turn else with_tools
        recorder.llm_calls += 1
        response: AIMessageChunk | None = None
        separated = not recorder.parts or recorder.content[-1:].isspace()
        stream = model.astream(state["messages"], config)
        try:
            async for chunk in stream:
                response = chunk if response is None else response + chunk
                text = text_content(chunk.content)
                if text:
                    if not separated:
                        await recorder.token(TURN_SEPARATOR)
                        separated = True
                    await recorder.token(text)
                if await recorder.stop_requested():
                    break
        finally:
            await stream.aclose()
        usage = (response.usage_metadata if response is not None else None) or {}
        recorder.input_tokens += int(usage.get("input_tokens") or 0)
        recorder.output_tokens += int(usage.get("output_tokens") or 0)
        if response is None:
            message = AIMessage(content="")
        elif recorder.cut_short:  # a stopped turn keeps its text; its unfinished tool calls are dropped
            message = AIMessage(content=text_content(response.content), id=response.id)
        else:
            message = AIMessage(
                content=response.content,
                tool_calls=response.tool_calls,
                id=response.id,
                usage_metadata=response.usage_metadata,
                response_metadata=response.response_metadata,
            )
        return {"messages": [message], "steps": 1}

    return agent


def tool_error_message(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return f"Error: {text}. Check the tool's arguments and try again, or answer without it."


def make_tool_node(tools: Sequence[BaseTool], recorder: Recorder) -> ToolNode:
    """The model's tool calls, run one at a time in its order, each announced before and after."""
    lock = asyncio.Lock()

    async def announced(
        request: ToolCallRequest, execute: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command]]
    ) -> ToolMessage | Command:
        async with lock:
            name, args = request.tool_call["name"], jsonable(request.tool_call.get("args") or {})
            await recorder.on_tool_start(name, args)
            result = await execute(request)
            if isinstance(result, ToolMessage) and not isinstance(result.content, str):
                result.content = text_content(result.content)
            output = text_content(result.content) if isinstance(result, ToolMessage) else str(result)
            recorder.tool_calls.append({"name": name, "input": args, "output": short_output(output)})
            await recorder.on_tool_end(name, short_output(output))
            return result

    return ToolNode(list(tools), name=TOOLS, handle_tool_errors=tool_error_message, awrap_tool_call=announced)


def _last_ai(state: ChatState) -> AIMessage | None:
    messages = state["messages"]
    return messages[-1] if messages and isinstance(messages[-1], AIMessage) else None


def after_agent(state: ChatState) -> Literal["tools", "__end__"]:
    last = _last_ai(state)
    return TOOLS if last is not None and last.tool_calls else END


def after_tools(state: ChatState) -> Literal["agent", "__end__"]:
    return AGENT if state.get("steps", 0) < state["max_steps"] else END
