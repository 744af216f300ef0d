"""The chat LLM: local/analyst by default, any remote model through the one LLM factory."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from agents.catalog import find_model
from agents.llm import load_chat_model

ANALYST_ID = "local/analyst"


def chat_model(model_id: str | None, parameters: dict[str, Any] | None, settings) -> BaseChatModel:
    """The chat LLM for a model id: local/analyst when the id is empty or names a local model (the
    trading strategies cannot chat), else the remote model with its parameters.

    Raises agents.llm.ModelUnavailable for an unknown id or a remote model without an API key."""
    chosen = (model_id or "").strip() or ANALYST_ID
    info = find_model(chosen)
    if info is not None and info.local:
        chosen = ANALYST_ID
    return load_chat_model(chosen, parameters, settings, purpose="chat")
