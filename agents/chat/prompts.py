"""The analyst's system prompt, and the prompts that ask for a title and for a summary.

The "Conversation facts" block is written by the platform, one `Label: value` line each; the admin's
instructions and the summary of older messages follow it between markers. The title and summary
prompts open with a task heading the local analyst recognises.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.scripted_model import read_facts as read_facts_under

FACTS_HEADING = "## Conversation facts"
TITLE_TASK = "## Task: conversation title"
SUMMARY_TASK = "## Task: conversation summary"
USER_TEXT_MARKERS = ("<<<", ">>>")

ANALYST_RULES = """\
- Answer from the tools' results, never from memory: call a tool whenever the question is about a
  model, a run, its trades, its reasoning or its figures, and say so when a tool finds nothing.
- Models are named by name or signature; runs by their run number within a model. Leave the model
  and run arguments out to mean the conversation's model and run (or the latest run).
- Returns, drawdowns and win rates arrive as fractions: say them as percentages (0.0412 is +4.12%).
- Be brief and concrete: the figures first, then what they mean. Do not invent trades or figures."""


def _user_text(label: str, text: str | None) -> str:
    body = (text or "").strip() or "(none)"
    for marker in USER_TEXT_MARKERS:  # text written by people cannot close its own block
        body = body.replace(marker, "")
    return f"<<<{label}\n{body}\n{label}>>>"


def facts_block(facts: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f"{label}: {value}" for label, value in facts)


def system_prompt(facts: Sequence[tuple[str, str]], *, instructions: str | None, summary: str | None) -> str:
    return f"""\
You are the analyst of AIBT, a trading simulator where users run AI trading agents as backtests and \
intraday sessions. You help one user understand their own trading models and runs: performance, \
trades, the agents' reasoning, and comparisons between runs, using the tools you are given.

{FACTS_HEADING}
{facts_block(facts)}

## How to answer
{ANALYST_RULES}

## Instructions from the platform's administrators
{_user_text("INSTRUCTIONS", instructions)}

## Summary of the conversation's older messages
{_user_text("SUMMARY", summary)}
"""


def title_prompt(first_message: str) -> str:
    return f"""\
{TITLE_TASK}
Write a title of 3 to 5 words for a conversation that opens with the user's message below. Answer with \
the title only: no quotes, no final full stop.
{_user_text("MESSAGE", first_message)}
"""


def summary_prompt(previous_summary: str | None, transcript: str) -> str:
    return f"""\
{SUMMARY_TASK}
Summarise the conversation below in at most 120 words for the analyst who continues it: what the user \
asked about (models, runs, dates), the figures found and any conclusions. Fold the previous summary in.
{_user_text("PREVIOUS SUMMARY", previous_summary)}
{_user_text("MESSAGES", transcript)}
"""


def read_block(text: str, label: str) -> str | None:
    """The body of a `<<<LABEL ... LABEL>>>` block, or None."""
    start, end = text.find(f"<<<{label}\n"), text.find(f"\n{label}>>>")
    if start < 0 or end < start:
        return None
    return text[start + len(label) + 4 : end]


def read_facts(system_text: str) -> dict[str, str]:
    """The platform's `Label: value` facts from the system prompt."""
    return read_facts_under(system_text, FACTS_HEADING)
