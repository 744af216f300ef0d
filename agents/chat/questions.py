"""Reading an analyst question: what it asks for (its intent) and the run numbers, model and dates it names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agents.chat.arena_answers import arena_request

DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
RUN_LIST = re.compile(
    r"\bruns?\s*(?:number|no\.?|#)?\s*#?(\d+(?:\s*(?:,|and|&|or|vs\.?|versus|with|to|/)\s*"
    r"(?:runs?\s*)?#?\d+)*)",
    re.IGNORECASE,
)
QUOTED = re.compile(r"[\"“'‘]([^\"”'’]{1,100})[\"”'’]")
NAMED_MODEL = re.compile(
    r"\b(?:model|signature)\s+(?!and\b|or\b|do\b|did\b|does\b|is\b|was\b|to\b|i\b)"
    r"([A-Za-z0-9][\w.\-]*)",
    re.IGNORECASE,
)
LIST_WORDS = (
    "list",
    "my models",
    "which models",
    "what models",
    "models do i",
    "all my runs",
    "my runs",
    "what runs",
    "which runs",
    "overview",
)
COMPARE_WORDS = ("compare", "comparison", " vs", "versus", "difference between", "better run", "side by side")
REASONING_WORDS = ("why", "reason", "thinking", "think", "log", "explain", "rationale", "decid")
TRADE_WORDS = ("trade", "bought", "sold", "buy", "sell", "position", "holding", "order")
PERFORMANCE_WORDS = (
    "how did",
    "how is",
    "how was",
    "perform",
    "return",
    "sharpe",
    "sortino",
    "drawdown",
    "volatility",
    "win rate",
    "result",
    "metric",
    "profit",
    "loss",
    "made money",
    "do?",
    "doing",
)

MAX_NUMBER_DIGITS = 18  # fits 64 bits; a longer number goes to the tools as its text, and they say no run has it
MAX_READABLE_DIGITS = 4_300  # Python's (and the tools' argument parser's) limit on reading a number from text


def run_numbers(question: str) -> list[int | str]:
    numbers: list[int | str] = []
    for match in RUN_LIST.finditer(DATE.sub(" ", question)):
        for digits in re.findall(r"\d+", match.group(1)):
            if len(digits) <= MAX_NUMBER_DIGITS:
                numbers.append(int(digits))
            elif len(digits) <= MAX_READABLE_DIGITS:
                numbers.append(digits)
    return list(dict.fromkeys(numbers))


def model_reference(question: str) -> str | None:
    quoted = QUOTED.search(question)
    if quoted:
        return quoted.group(1).strip()
    named = NAMED_MODEL.search(question)
    return named.group(1) if named else None


def _has(text: str, words: Sequence[str]) -> bool:
    return any(word in text for word in words)


def intent(question: str) -> str:
    text = f" {question.lower().strip()} "
    numbers = run_numbers(question)
    if _has(text, COMPARE_WORDS) or (len(numbers) >= 2 and not DATE.search(question)):
        return "compare_runs"
    if re.search(r"\b(list|show)\b.*\b(models?|runs)\b", text) or _has(text, LIST_WORDS[1:]):
        return "list_models_and_runs"
    if _has(text, REASONING_WORDS):
        return "reasoning_logs"
    if _has(text, TRADE_WORDS):
        return "positions"
    if _has(text, PERFORMANCE_WORDS) or numbers:
        return "run_performance"
    return "help"


def tool_request(question: str) -> tuple[str, dict[str, Any]] | None:
    """The tool call that answers the question, with the arguments read from it."""
    if (about_an_arena := arena_request(question)) is not None:
        return about_an_arena
    kind = intent(question)
    if kind == "help":
        return None
    args: dict[str, Any] = {}
    model = model_reference(question)
    if model and kind != "list_models_and_runs":
        args["model"] = model
    numbers, dates = run_numbers(question), DATE.findall(question)
    if kind == "compare_runs" and numbers:
        args["run_numbers"] = numbers
    elif kind in ("run_performance", "positions", "reasoning_logs") and numbers:
        args["run_number"] = numbers[0]
    if kind == "positions" and dates:
        args["from_date"], args["to_date"] = min(dates[:2]), max(dates[:2])
    if kind == "reasoning_logs" and dates:
        args["date"] = dates[0]
    return kind, args
