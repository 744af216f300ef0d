"""A message's content as the plain text its reader gets: a streamed reply, a reasoning log, a local model.

Content is a string or a list of blocks. Where two older readers disagreed on blocks, this one keeps:
- the join: a model's text blocks are pieces of one text (a provider splits it around citations or tool
  calls, a stream sends deltas), so they join as written, as LangChain's `message.text` does; a tool's
  blocks are separate results (an MCP tool returning a list sends one block per item), one per line;
- data blocks (image, audio, video, file) are named in brackets, so a model or a log reader knows
  something was there that text cannot carry;
- the protocol's own blocks (tool calls and their chunks, reasoning) are left out: the tool calls are
  kept beside the text, reasoning is not the answer, and a stream must not show either as tokens.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, ToolMessage, is_data_content_block


def _block_text(block: Any) -> str | None:
    """A block's text, a bracketed name for a data block, or None for a block that has no text to show."""
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return None
    if block.get("type") == "text" and isinstance(block.get("text"), str):
        return block["text"]
    if is_data_content_block(block):
        return f"[{block['type']}]"
    return None


def text_content(message: BaseMessage) -> str:
    """The message's (or a streamed chunk's) content as plain text."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = [text for text in map(_block_text, content) if text is not None]
    return ("\n" if isinstance(message, ToolMessage) else "").join(parts)
