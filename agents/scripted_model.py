"""The chat-model machinery the local deterministic models share.

A scripted model computes its whole reply from the conversation, then behaves like a remote model:
streamed, its text comes token by token, its tool calls follow as tool-call chunks, and the last chunk
reports usage (whitespace-separated words of the prompt and of the output). Invoked without streaming
(a trading turn reads its answer whole), it returns the same message at once, without the chunks.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from agents.message_text import text_content

TOKEN = re.compile(r"\s*\S+")
ToolCalls = list[tuple[str, dict[str, Any]]]


@functools.lru_cache(maxsize=512)
def count_words(text: str) -> int:
    """Whitespace-separated words; kept per text, since every turn counts the whole conversation again."""
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


@dataclass(frozen=True)
class _Answer:
    """One reply as both paths give it: the text's tokens, the tool calls (id, name, args) with their
    arguments as JSON text, the usage and the response metadata."""

    tokens: list[str]
    calls: list[tuple[str, str, dict[str, Any]]]
    arguments: list[str]
    usage: dict[str, int]
    metadata: dict[str, str]


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

    def _answer(self, messages: list[BaseMessage]) -> _Answer:
        text, tool_calls = self.script(messages)
        turn = sum(1 for m in messages if isinstance(m, AIMessage))
        calls = [(f"call_{turn}_{index}", name, args) for index, (name, args) in enumerate(tool_calls)]
        arguments = [json.dumps(args, sort_keys=True) for _, _, args in calls]
        output_words = count_words(text) + sum(1 + count_words(a) for a in arguments)
        return _Answer(
            tokens=TOKEN.findall(text),
            calls=calls,
            arguments=arguments,
            usage=_usage(messages, output_words),
            metadata={"model_name": self.model_id, "finish_reason": "tool_calls" if calls else "stop"},
        )

    def _chunks(self, messages: list[BaseMessage]) -> Iterator[ChatGenerationChunk]:
        answer = self._answer(messages)
        for token in answer.tokens:
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        for index, ((call_id, name, _), arguments) in enumerate(zip(answer.calls, answer.arguments, strict=True)):
            call = tool_call_chunk(name=name, args=arguments, id=call_id, index=index)
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[call]))
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="", usage_metadata=answer.usage, chunk_position="last", response_metadata=answer.metadata
            )
        )

    def _whole(self, messages: list[BaseMessage]) -> ChatResult:
        """The message the chunks add up to, made directly: a caller that does not stream pays for no chunks
        (nor for LangChain merging them on a thread)."""
        answer = self._answer(messages)
        message = AIMessage(
            content="".join(answer.tokens),
            tool_calls=[tool_call(name=name, args=args, id=call_id) for call_id, name, args in answer.calls],
            usage_metadata=answer.usage,
            response_metadata=answer.metadata,
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

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
        return self._whole(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._whole(messages)
