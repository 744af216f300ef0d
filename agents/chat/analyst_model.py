"""local/analyst: a deterministic chat analyst that answers from the analyst tools' results.

It reads the user's latest message, picks the tool that answers it (performance of a run, a comparison
of runs, the trades of a date or range, the reasoning of a date, the list of models and runs), calls
it, and then answers in sentences from its JSON result. Like the local strategies it needs no network,
streams its text token by token, and reports usage (whitespace-separated words) on its last chunk. It
also answers the title and summary tasks of agents.chat.prompts deterministically.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from agents.chat import answers, prompts
from agents.chat.summaries import extractive_summary
from agents.chat.titles import fallback_title
from agents.local_models import count_words, message_text

TOKEN = re.compile(r"\s*\S+")


class AnalystModel(BaseChatModel):
    """The deterministic analyst; `bind_tools` records which tools it may call."""

    model_id: str = "local/analyst"
    tool_names: tuple[str, ...] = ()

    @property
    def _llm_type(self) -> str:
        return "aibt-local-analyst"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "tool_names": self.tool_names}

    def bind_tools(self, tools: Sequence[dict[str, Any] | type | Callable | Any], *, tool_choice: str | None = None,
                   **kwargs: Any) -> AnalystModel:
        names = tuple(convert_to_openai_tool(tool)["function"]["name"] for tool in tools)
        return self.model_copy(update={"tool_names": names})

    def decide(self, messages: Sequence[BaseMessage]) -> answers.Reply:
        first = message_text(messages[0].content) if messages else ""
        if first.startswith(prompts.TITLE_TASK):
            return answers.Reply(fallback_title(prompts.read_block(first, "MESSAGE") or ""))
        if first.startswith(prompts.SUMMARY_TASK):
            return answers.Reply(summary_of(first))
        return answers.reply(answers.Turn.read(messages, self.tool_names))

    def _chunks(self, messages: list[BaseMessage]) -> Iterator[ChatGenerationChunk]:
        reply = self.decide(messages)
        turn = sum(1 for m in messages if isinstance(m, AIMessage))
        for token in TOKEN.findall(reply.text):
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        output_words = count_words(reply.text)
        for index, (name, args) in enumerate(reply.tool_calls):
            arguments = json.dumps(args, sort_keys=True)
            output_words += 1 + count_words(arguments)
            call = tool_call_chunk(name=name, args=arguments, id=f"call_{turn}_{index}", index=index)
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[call]))
        input_words = sum(count_words(message_text(m.content)) for m in messages)
        input_words += sum(1 + count_words(json.dumps(c["args"], sort_keys=True))
                           for m in messages if isinstance(m, AIMessage) for c in m.tool_calls)
        usage = {"input_tokens": input_words, "output_tokens": output_words,
                 "total_tokens": input_words + output_words}
        yield ChatGenerationChunk(message=AIMessageChunk(
            content="", usage_metadata=usage, chunk_position="last",
            response_metadata={"model_name": self.model_id, "finish_reason": "tool_calls" if reply.tool_calls else "stop"},
        ))

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        yield from self._chunks(messages)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            yield chunk

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))


def summary_of(prompt: str) -> str:
    """The summary task answered extractively from the prompt's transcript."""
    messages = []
    for line in (prompts.read_block(prompt, "MESSAGES") or "").splitlines():
        speaker, _, text = line.partition(": ")
        role = {"User": "user", "Analyst": "assistant"}.get(speaker)
        if role and text.strip():
            messages.append({"role": role, "content": text})
    previous = prompts.read_block(prompt, "PREVIOUS SUMMARY")
    return extractive_summary(None if previous in (None, "(none)") else previous, messages)


LOCAL_CHAT_MODELS: dict[str, type[AnalystModel]] = {"local/analyst": AnalystModel}
