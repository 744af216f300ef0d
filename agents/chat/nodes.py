"""The chat reply's part of the agent loop: the analyst's turn, streamed token by token, and its tool
calls, announced one at a time.

Both report to a Recorder as they go: every text token of the model (and the separator between the
texts of two turns) goes to on_token and into the reply; every tool call goes to on_tool_start and
on_tool_end, one at a time in the order the model gave them. The reply is all the assistant text of
the turn, in order: text a model writes before its tool calls is part of it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, AnyMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from agents.agent_loop import AroundToolCall, ChatModel, ExecuteToolCall, ModelTurn, ShouldStop
from agents.chat.state import OnToken, OnToolEnd, OnToolStart, ReplyResult
from agents.message_text import text_content
from db_models.json_values import storable

SHORT_OUTPUT_CHARS = 500
TURN_SEPARATOR = "\n\n"


def short_output(text: str, limit: int = SHORT_OUTPUT_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def jsonable(value: Any) -> Any:
    """A tool call's arguments as data the reply's row can store (they are the model's, whatever it wrote)."""
    return storable(json.loads(json.dumps(value, default=str)))


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


def streamed_turn(recorder: Recorder) -> ModelTurn:
    """One analyst turn, streamed: tokens reach the recorder as they arrive and should_stop is asked
    between them."""

    async def turn(model: ChatModel, messages: list[AnyMessage], config: RunnableConfig) -> dict[str, Any]:
        recorder.llm_calls += 1
        response: AIMessageChunk | None = None
        separated = not recorder.parts or recorder.content[-1:].isspace()
        stream = model.astream(messages, config)
        try:
            async for chunk in stream:
                response = chunk if response is None else response + chunk
                text = text_content(chunk)
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
            message = AIMessage(content=text_content(response), id=response.id)
        else:
            message = AIMessage(
                content=response.content,
                tool_calls=response.tool_calls,
                id=response.id,
                usage_metadata=response.usage_metadata,
                response_metadata=response.response_metadata,
            )
        return {"messages": [message]}

    return turn


def announced_calls(recorder: Recorder) -> AroundToolCall:
    """The model's tool calls, run one at a time in its order, each announced before and after."""
    lock = asyncio.Lock()

    async def announced(request: ToolCallRequest, execute: ExecuteToolCall) -> ToolMessage | Command:
        async with lock:
            name, args = request.tool_call["name"], jsonable(request.tool_call.get("args") or {})
            await recorder.on_tool_start(name, args)
            result = await execute(request)
            output = text_content(result) if isinstance(result, ToolMessage) else str(result)
            recorder.tool_calls.append({"name": name, "input": args, "output": short_output(output)})
            await recorder.on_tool_end(name, short_output(output))
            return result

    return announced
