"""The chat-model machinery the local deterministic models share.

A scripted model computes its whole reply from the conversation, then behaves like a remote model:
its text streams token by token, its tool calls follow as tool-call chunks, and the last chunk reports
usage (whitespace-separated words of the prompt and of the output).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from agents.message_text import text_content

TOKEN = re.compile(r"\s*\S+")
ToolCalls = list[tuple[str, dict[str, Any]]]


def count_words(text: str) -> int:
    return len(text.split())


def read_facts(system_text: str, heading: str) -> dict[str, str]:
    """The platform's `Label: value` lines under `heading` in a system prompt (the user's text comes after)."""
    facts: dict[str, str] = {}
    inside = False
    for line in system_text.splitlines():
        if line.strip() == heading:
            inside = True
            continue
        if inside:
            if line.startswith("#"):
                break
            label, sep, value = line.partition(":")
            if sep:
                facts.setdefault(label.strip(), value.strip())
    return facts


def _usage(messages: list[BaseMessage], output_words: int) -> dict[str, int]:
    input_words = sum(count_words(text_content(m)) for m in messages)
    input_words += sum(
        1 + count_words(json.dumps(c["args"], sort_keys=True))
        for m in messages
        if isinstance(m, AIMessage)
        for c in m.tool_calls
    )
    return {"input_tokens": input_words, "output_tokens": output_words, "total_tokens": input_words + output_words}


class ScriptedChatModel(BaseChatModel):
    """Subclasses implement `script`: the reply text and tool calls for a conversation."""

    model_id: str = "local/scripted"
    tool_names: tuple[str, ...] = ()

    @property
    def _llm_type(self) -> str:
        return "aibt-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "tool_names": self.tool_names}

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable | Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> ScriptedChatModel:
        names = tuple(convert_to_openai_tool(tool)["function"]["name"] for tool in tools)
        return self.model_copy(update={"tool_names": names})

    def script(self, messages: list[BaseMessage]) -> tuple[str, ToolCalls]:
        raise NotImplementedError

    def _chunks(self, messages: list[BaseMessage]) -> Iterator[ChatGenerationChunk]:
        text, tool_calls = self.script(messages)
        turn = sum(1 for m in messages if isinstance(m, AIMessage))
        for token in TOKEN.findall(text):
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        output_words = count_words(text)
        for index, (name, args) in enumerate(tool_calls):
            arguments = json.dumps(args, sort_keys=True)
            output_words += 1 + count_words(arguments)
            call = tool_call_chunk(name=name, args=arguments, id=f"call_{turn}_{index}", index=index)
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[call]))
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=_usage(messages, output_words),
                chunk_position="last",
                response_metadata={
                    "model_name": self.model_id,
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                },
            )
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from self._chunks(messages)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
