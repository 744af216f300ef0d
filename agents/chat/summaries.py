"""Summaries of a conversation's older messages, folded into the previous summary."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from agents.chat import prompts
from agents.message_text import text_content

MAX_SUMMARY_CHARS = 2000
MAX_POINT_CHARS = 200
MAX_TRANSCRIPT_CHARS = 20000
SUMMARY_TIMEOUT_SECONDS = 60.0
SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)", re.DOTALL)
SPEAKERS = {"user": "User", "assistant": "Analyst"}
log = logging.getLogger(__name__)


def first_sentence(text: str, limit: int = MAX_POINT_CHARS) -> str:
    flat = " ".join(text.split())
    match = SENTENCE.match(flat)
    sentence = match.group(1) if match else flat
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def transcript(messages: Sequence[dict], limit: int = MAX_TRANSCRIPT_CHARS) -> str:
    """The messages as `Speaker: text` lines, the newest kept when too long."""
    lines = [
        f"{SPEAKERS.get(str(m.get('role', '')).lower(), 'Note')}: {' '.join(str(m.get('content') or '').split())}"
        for m in messages
        if str(m.get("content") or "").strip()
    ]
    text = "\n".join(lines)
    return text if len(text) <= limit else text[-limit:]


def extractive_summary(previous_summary: str | None, messages: Sequence[dict]) -> str:
    """The previous summary, then one line per message: who said it and its first sentence.

    Deterministic; the oldest lines give way first when it passes MAX_SUMMARY_CHARS."""
    points = []
    for message in messages:
        content = str(message.get("content") or "").strip()
        role = str(message.get("role", "")).lower()
        if not content or role not in SPEAKERS:
            continue
        verb = "asked" if role == "user" else "answered"
        points.append(f"- {SPEAKERS[role]} {verb}: {first_sentence(content)}")
    head = f"Earlier: {' '.join((previous_summary or '').split())}" if (previous_summary or "").strip() else ""
    while points and len("\n".join([head, *points]).strip()) > MAX_SUMMARY_CHARS:
        points.pop(0)
    summary = "\n".join([head, *points]).strip()
    if len(summary) > MAX_SUMMARY_CHARS:
        summary = "…" + summary[-(MAX_SUMMARY_CHARS - 1) :]
    return summary or "No messages to summarise yet."


async def summarise(llm: BaseChatModel | None, previous_summary: str | None, messages: list[dict]) -> str:
    """A summary of `messages` (oldest first, {"role", "content"}) folded into `previous_summary`.

    Asks the LLM; falls back to `extractive_summary` when there is none, it fails or answers nothing."""
    if llm is not None and messages:
        try:
            answer = await asyncio.wait_for(
                llm.ainvoke([HumanMessage(prompts.summary_prompt(previous_summary, transcript(messages)))]),
                SUMMARY_TIMEOUT_SECONDS,
            )
            text = text_content(answer).strip()
            if text:
                return text[:MAX_SUMMARY_CHARS]
        except Exception as error:
            log.warning("Summary from the chat LLM failed, using an extractive one: %s", error)
    return extractive_summary(previous_summary, messages)
