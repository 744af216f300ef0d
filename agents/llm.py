"""The one place a chat model is made: a local deterministic strategy or a remote OpenAI-compatible model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel

from agents.catalog import find_model
from agents.local_models import LOCAL_TRADING_MODELS
from db_models.settings import Settings

DEFAULT_TIMEOUT_SECONDS = 120.0
DEFAULT_MAX_RETRIES = 2
# Stored parameter -> ChatOpenAI argument; top_k is not an OpenAI parameter and travels in the body.
OPENAI_PARAMETERS = ("temperature", "top_p", "max_tokens", "frequency_penalty", "presence_penalty")


class ModelUnavailable(Exception):
    """Raised when a model id cannot be made into a chat model: unknown, not for its purpose, or not configured."""


def local_models(purpose: Literal["trading", "chat"]) -> Mapping[str, Callable[[], BaseChatModel]]:
    """The local models that may serve a purpose: trading strategies trade; the analyst chats."""
    if purpose == "chat":
        from agents.chat.analyst_model import LOCAL_CHAT_MODELS

        return LOCAL_CHAT_MODELS
    return LOCAL_TRADING_MODELS


def shares_model(model_id: str) -> bool:
    """Whether load_chat_model gives every caller in the process the same object for this id (a remote
    model, for the same parameters and settings) rather than one made for the caller (a local model)."""
    info = find_model(model_id)
    return info is not None and not info.local


def _number(parameters: Mapping[str, Any], key: str, kind: type) -> Any:
    value = parameters.get(key)
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ModelUnavailable(f"Model parameter {key} must be a number; got {value!r}.") from None


def load_chat_model(
    model_id: str,
    parameters: Mapping[str, Any] | None,
    settings: Settings,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    max_retries: int = DEFAULT_MAX_RETRIES,
    purpose: Literal["trading", "chat"] = "trading",
    callbacks: Sequence[BaseCallbackHandler] = (),
) -> BaseChatModel:
    """The chat model for an aiModels id, with the trading model's stored parameters.

    Local ids give deterministic models (parameters do not change them): strategies for trading, the
    analyst for chat. Remote ids give ChatOpenAI against settings.openai_api_base, with usage reports
    in its streams. A chat reply streams its tokens to the user; a trading turn is read whole, so it is
    one JSON answer: parsing a stream chunk by chunk costs the worker several times the CPU of the call.

    A remote model is made once per process for the same arguments and shared by the runs using it (its
    client and connection pool with it), so it must not be changed: `callbacks` are its callbacks.
    """
    info = find_model(model_id)
    if info is None:
        raise ModelUnavailable(f"Unknown AI model {model_id!r}; see the aiModels query for the available ones.")
    if info.local:
        make = local_models(purpose).get(model_id)
        if make is None:
            raise ModelUnavailable(f"{model_id} is not a {purpose} model.")
        model = make()
        if callbacks:
            model.callbacks = list(callbacks)
        return model
    if not settings.openai_api_key:
        raise ModelUnavailable(
            f"{model_id} is a remote model and needs an API key: set OPENAI_API_KEY for "
            f"{settings.openai_api_base}, or choose a local model."
        )
    parameters = parameters or {}
    options: dict[str, Any] = {}
    for key in OPENAI_PARAMETERS:
        value = _number(parameters, key, int if key == "max_tokens" else float)
        if value is not None:
            options[key] = value
    top_k = _number(parameters, "top_k", int)
    return _remote_model(
        model_id,
        tuple(sorted(options.items())),
        top_k,
        settings.openai_api_base,
        settings.openai_api_key,
        timeout,
        max_retries,
        purpose == "chat",
        tuple(callbacks),
    )


@lru_cache(maxsize=256)
def _remote_model(
    model_id: str,
    options: tuple[tuple[str, Any], ...],
    top_k: int | None,
    base_url: str,
    api_key: str,
    timeout: float,
    max_retries: int,
    streaming: bool,
    callbacks: tuple[BaseCallbackHandler, ...],
) -> BaseChatModel:
    """A ChatOpenAI, once per process for the same arguments: building one validates its fields and sets up
    its clients, a few milliseconds of the event loop on every run otherwise."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=model_id,
        base_url=base_url,
        api_key=api_key,
        streaming=streaming,
        use_responses_api=False,
        stream_usage=True,
        timeout=timeout,
        max_retries=max_retries,
        callbacks=list(callbacks) or None,
        extra_body={"top_k": top_k} if top_k is not None else None,
        **dict(options),
    )
