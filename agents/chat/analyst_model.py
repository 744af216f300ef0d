"""local/analyst: a deterministic chat analyst that answers from the analyst tools' results.

It reads the user's latest message, picks the tool that answers it (performance of a run, a comparison
of runs, the trades of a date or range, the reasoning of a date, the list of models and runs), calls
it, and then answers in sentences from its JSON result. Like the local strategies it needs no network,
streams its text token by token, and reports usage (whitespace-separated words) on its last chunk. It
also answers the title and summary tasks of agents.chat.prompts deterministically.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from agents.chat import answers, prompts
from agents.chat.summaries import extractive_summary
from agents.chat.titles import fallback_title
from agents.message_text import text_content
from agents.scripted_model import ScriptedChatModel


class AnalystModel(ScriptedChatModel):
    """The deterministic analyst; `bind_tools` records which tools it may call."""

    model_id: str = "local/analyst"

    @property
    def _llm_type(self) -> str:
        return "aibt-local-analyst"

    def decide(self, messages: Sequence[BaseMessage]) -> answers.Reply:
        first = text_content(messages[0]) if messages else ""
        if first.startswith(prompts.TITLE_TASK):
            return answers.Reply(fallback_title(prompts.read_block(first, "MESSAGE") or ""))
        if first.startswith(prompts.SUMMARY_TASK):
            return answers.Reply(summary_of(first))
        return answers.reply(answers.Turn.read(messages, self.tool_names))

    def script(self, messages: list[BaseMessage]) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
        reply = self.decide(messages)
        return reply.text, reply.tool_calls


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
