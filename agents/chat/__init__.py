"""The analyst chat: a LangGraph reply graph over tools scoped to the asking user, titles and summaries."""

from agents.chat.graph import stream_reply
from agents.chat.llm import chat_model
from agents.chat.state import ChatRequest, ReplyFailed, ReplyResult
from agents.chat.summaries import summarise
from agents.chat.titles import make_title

__all__ = ["ChatRequest", "ReplyFailed", "ReplyResult", "chat_model", "make_title", "stream_reply", "summarise"]
