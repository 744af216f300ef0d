"""The chat reply's public input and result, and the callbacks it streams through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

OnToken = Callable[[str], Awaitable[None]]
OnToolStart = Callable[[str, dict], Awaitable[None]]
OnToolEnd = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True)
class ChatRequest:
    """What the worker knows when a user's message needs a reply."""

    user_id: int
    conversation_id: int
    model_id: int | None  # the conversation's trading model (db pk), if any
    run_id: int | None  # the conversation's run (db pk), if any
    summary: str | None  # summary of older messages
    history: list[
        dict
    ]  # the last 30 messages before this one, oldest first: {"role": "user"|"assistant", "content": str}
    message: str  # the user's new message
    instructions: str | None  # the admin's global chat instructions


@dataclass
class ReplyResult:
    """The reply as streamed: `content` is exactly the concatenation of the tokens given to on_token."""

    content: str
    tool_calls: list[dict] = field(default_factory=list)  # [{"name", "input", "output"}] in order
    cut_short: bool = False  # stopped by should_stop before finishing
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class ReplyFailed(Exception):
    """Raised by stream_reply when the LLM or the graph fails part-way; `partial` holds what was
    streamed until then (cut_short=True), so the caller can keep it."""

    def __init__(self, reason: str, partial: ReplyResult) -> None:
        super().__init__(reason)
        self.partial = partial
