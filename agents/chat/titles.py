"""Conversation titles: 3-5 words from the chat LLM, or from the message itself when it cannot help."""

from __future__ import annotations

import asyncio
import logging
import re

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from agents.chat import prompts
from agents.message_text import text_content
from db_models.display_text import shows_as_one_line

MAX_TITLE_CHARS = 80
MIN_WORDS, MAX_WORDS = 3, 5
MAX_WORD_CHARS = 24
TITLE_TIMEOUT_SECONDS = 20.0
DEFAULT_TITLE = "New analyst conversation"
WORD = re.compile(r"[^\W_](?:[\w.'/%+-]*[^\W_%]|%)?|\d+(?:\.\d+)?%?", re.UNICODE)
# Words that carry no topic at the start or end of a title.
FILLER = {
    "hi",
    "hello",
    "hey",
    "please",
    "pls",
    "thanks",
    "thank",
    "so",
    "ok",
    "okay",
    "um",
    "well",
    "and",
    "the",
    "a",
    "an",
    "of",
    "to",
    "for",
    "with",
    "on",
    "in",
    "at",
    "me",
    "tell",
    "can",
    "could",
    "you",
    "would",
    "i",
    "just",
    "quick",
    "question",
    "is",
    "it",
}
log = logging.getLogger(__name__)


def _capitalised(words: list[str]) -> str:
    title = " ".join(w[:MAX_WORD_CHARS] for w in words)
    return (title[:1].upper() + title[1:])[:MAX_TITLE_CHARS].strip()


def fallback_title(message: str) -> str:
    """3-5 words of the message, without leading and trailing filler; deterministic, never empty."""
    words = WORD.findall(message or "")
    core = list(words)
    while core and core[0].lower() in FILLER:
        core.pop(0)
    core = core[:MAX_WORDS]
    while len(core) > MIN_WORDS and core[-1].lower() in FILLER:
        core.pop()
    if len(core) < MIN_WORDS:  # too few topic words: keep the message's own words, padded
        core = words[:MAX_WORDS] if len(words) >= MIN_WORDS else ["Chat", "about", *words][:MAX_WORDS]
    if len(core) < MIN_WORDS:
        return DEFAULT_TITLE
    return _capitalised(core)


def clean_title(text: str) -> str | None:
    """The LLM's title, trimmed of quotes, prefixes and punctuation, if it has 3-5 words."""
    line = next((candidate for candidate in text.strip().splitlines() if candidate.strip()), "")
    line = re.sub(r"^\s*(title\s*:\s*)", "", line, flags=re.IGNORECASE).strip().strip("\"'“”‘’*#`").strip()
    line = line.rstrip(".!?:;,").strip()
    words = line.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS or len(line) > MAX_TITLE_CHARS or not shows_as_one_line(line):
        return None
    return line[:1].upper() + line[1:]


async def make_title(llm: BaseChatModel | None, first_message: str) -> str:
    """A 3-5 word title for a conversation opening with `first_message` (<= 80 chars, never empty).

    Asks the LLM; falls back to `fallback_title` when there is none, it fails, times out or answers
    something that is not a 3-5 word title."""
    if llm is not None:
        try:
            answer = await asyncio.wait_for(
                llm.ainvoke([HumanMessage(prompts.title_prompt(first_message))]), TITLE_TIMEOUT_SECONDS
            )
            title = clean_title(text_content(answer))
            if title:
                return title
        except Exception as error:
            log.warning("Title from the chat LLM failed, using the message's words: %s", error)
    return fallback_title(first_message)
