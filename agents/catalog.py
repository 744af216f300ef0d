"""The AI models a trading model may use: local deterministic strategies and remote chat models."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class AiModelInfo:
    id: str
    provider: str
    local: bool
    description: str


LOCAL_MODELS = (
    AiModelInfo(
        "local/buy-and-hold",
        "local",
        True,
        "Buys as many whole shares of the allowed tickers as cash allows, split evenly, on the first day, then holds.",
    ),
    AiModelInfo(
        "local/momentum",
        "local",
        True,
        "Moving-average crossover on closes fetched through the price tool: "
        "buys on a golden cross, sells on a death cross.",
    ),
    AiModelInfo(
        "local/analyst",
        "local",
        True,
        "Deterministic analyst for chat: answers from tool results about performance, trades and comparisons.",
    ),
)

REMOTE_MODELS = (
    AiModelInfo("openai/gpt-5", "openai", False, "OpenAI GPT-5 through an OpenAI-compatible endpoint."),
    AiModelInfo("openai/gpt-4.1-mini", "openai", False, "OpenAI GPT-4.1 mini through an OpenAI-compatible endpoint."),
    AiModelInfo("anthropic/claude-sonnet-4.5", "anthropic", False, "Anthropic Claude Sonnet 4.5 via OpenRouter."),
    AiModelInfo("google/gemini-2.5-pro", "google", False, "Google Gemini 2.5 Pro via OpenRouter."),
    AiModelInfo("deepseek/deepseek-chat-v3.1", "deepseek", False, "DeepSeek V3.1 via OpenRouter."),
    AiModelInfo("qwen/qwen3-max", "qwen", False, "Qwen3 Max via OpenRouter."),
)


def _extra_remote_models() -> tuple[AiModelInfo, ...]:
    """AIBT_EXTRA_MODELS: comma-separated provider/model ids served by the configured endpoint."""
    extra = []
    for raw in os.environ.get("AIBT_EXTRA_MODELS", "").split(","):
        model_id = raw.strip()
        if "/" in model_id and not model_id.startswith("local/"):
            extra.append(AiModelInfo(model_id, model_id.split("/", 1)[0], False, "Configured by AIBT_EXTRA_MODELS."))
    return tuple(extra)


def available_models() -> tuple[AiModelInfo, ...]:
    known = {m.id for m in LOCAL_MODELS + REMOTE_MODELS}
    extra = tuple(m for m in _extra_remote_models() if m.id not in known)
    return LOCAL_MODELS + REMOTE_MODELS + extra


def find_model(model_id: str) -> AiModelInfo | None:
    return next((m for m in available_models() if m.id == model_id), None)
