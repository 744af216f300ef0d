"""Produces the analyst's reply to one user message, streaming it as chat events.

Order on the stream: TITLE (after the first message), TOKEN and TOOL_START/TOOL_END as they happen,
then COMPLETE with the stored reply (or ERROR). The reply is stored before COMPLETE is published.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from agents.chat import ChatRequest, ReplyFailed, chat_model, make_title, stream_reply, summarise
from agents.chat.llm import ANALYST_ID
from db_models.chat import (
    DEFAULT_CONVERSATION_TITLE,
    GLOBAL_CHAT_SETTINGS_ID,
    ChatMessage,
    Conversation,
    GlobalChatSettings,
    MessageRole,
)
from db_models.settings import Settings
from db_models.trading import TradingModel
from tasks.chat_events import message_of, publish_chat_event
from tasks.event_contract import ChatEvent, ChatEventKind
from tasks.events import EventBus

logger = logging.getLogger("aibt.chat")

HISTORY = 30  # messages sent to the LLM besides the summary
SUMMARY_THRESHOLD = 40  # once a conversation has more messages, the older ones are summarised
CANCEL_CHECK_SECONDS = 0.2


async def _llm_choice(conversation: Conversation) -> tuple[str, dict, str | None]:
    """The global chat model, else the conversation's model's own (when it can chat), else local/analyst."""
    settings = await GlobalChatSettings.get_or_none(id=GLOBAL_CHAT_SETTINGS_ID)
    if settings is not None and settings.chat_model:
        return settings.chat_model, settings.parameters or {}, settings.instructions
    instructions = settings.instructions if settings else None
    if conversation.model_id is not None:
        model = await TradingModel.get(id=conversation.model_id)
        if not model.ai_model.startswith("local/"):
            return model.ai_model, model.parameters or {}, instructions
    return ANALYST_ID, {}, instructions


def _throttled_cancel_check(conversation_id: int):
    last = {"at": 0.0, "answer": False}

    async def should_stop() -> bool:
        now = time.monotonic()
        if not last["answer"] and now - last["at"] >= CANCEL_CHECK_SECONDS:
            last["at"] = now
            last["answer"] = await Conversation.filter(id=conversation_id, cancel_reply_requested=True).exists()
        return last["answer"]

    return should_stop


async def _history(conversation: Conversation, message: ChatMessage) -> list[dict]:
    rows = await ChatMessage.filter(conversation_id=conversation.id, id__lt=message.id).order_by("-id").limit(HISTORY)
    return [
        {"role": "user" if r.role == MessageRole.USER else "assistant", "content": r.content} for r in reversed(rows)
    ]


async def _publish(bus: EventBus, conversation_id: int, kind: ChatEventKind, **carried: Any) -> None:
    await publish_chat_event(bus, ChatEvent(conversation_id=conversation_id, kind=kind, **carried))


async def reply_to_message(conversation_id: int, message_id: int, *, bus: EventBus, settings: Settings) -> None:
    conversation = await Conversation.get_or_none(id=conversation_id)
    message = await ChatMessage.get_or_none(id=message_id, conversation_id=conversation_id)
    if conversation is None or message is None:
        return  # deleted while queued
    try:
        model_id, parameters, instructions = await _llm_choice(conversation)
        llm = chat_model(model_id, parameters, settings)
        await _title_after_first_message(conversation, message, llm, bus)
        await _reply(conversation, message, llm, instructions, bus)
        await _summarise_if_long(conversation, llm)
    except Exception as exc:  # a failed reply is reported, never left hanging
        logger.exception("reply in conversation %s failed", conversation_id)
        await _publish(bus, conversation_id, ChatEventKind.ERROR, error=f"The reply failed: {exc}"[:500])
    finally:
        await Conversation.filter(id=conversation_id).update(reply_started_at=None, cancel_reply_requested=False)


async def _title_after_first_message(conversation: Conversation, message: ChatMessage, llm, bus: EventBus) -> None:
    if conversation.title != DEFAULT_CONVERSATION_TITLE:
        return
    if await ChatMessage.filter(conversation_id=conversation.id, role=MessageRole.USER).count() != 1:
        return
    conversation.title = await make_title(llm, message.content)
    await conversation.save(update_fields=["title", "updated_at"])
    await _publish(bus, conversation.id, ChatEventKind.TITLE, title=conversation.title)


async def _reply(
    conversation: Conversation, message: ChatMessage, llm, instructions: str | None, bus: EventBus
) -> None:
    request = ChatRequest(
        user_id=conversation.user_id,
        conversation_id=conversation.id,
        model_id=conversation.model_id,
        run_id=conversation.run_id,
        summary=conversation.summary,
        history=await _history(conversation, message),
        message=message.content,
        instructions=instructions,
    )

    async def on_token(text: str) -> None:
        await _publish(bus, conversation.id, ChatEventKind.TOKEN, token=text)

    async def on_tool_start(name: str, arguments: dict) -> None:
        await _publish(bus, conversation.id, ChatEventKind.TOOL_START, tool=name, tool_input=arguments)

    async def on_tool_end(name: str, output: str) -> None:
        await _publish(bus, conversation.id, ChatEventKind.TOOL_END, tool=name, tool_output=output)

    try:
        result = await stream_reply(
            llm=llm,
            request=request,
            on_token=on_token,
            on_tool_start=on_tool_start,
            on_tool_end=on_tool_end,
            should_stop=_throttled_cancel_check(conversation.id),
        )
    except ReplyFailed as failure:
        # What was streamed before the failure is kept, marked as cut short; the client hears why.
        if failure.partial.content:
            await _store_reply(conversation, failure.partial)
        await _publish(bus, conversation.id, ChatEventKind.ERROR, error=f"The reply failed: {failure}"[:500])
        return
    stored = await _store_reply(conversation, result)
    await _publish(bus, conversation.id, ChatEventKind.COMPLETE, message=message_of(stored))


async def _store_reply(conversation: Conversation, result) -> ChatMessage:
    stored = await ChatMessage.create(
        conversation_id=conversation.id,
        role=MessageRole.ASSISTANT,
        content=result.content,
        tool_calls=result.tool_calls or None,
        cut_short=result.cut_short,
    )
    conversation.updated_at = dt.datetime.now(dt.UTC)
    await conversation.save(update_fields=["updated_at"])
    return stored


async def _summarise_if_long(conversation: Conversation, llm) -> None:
    """Folds messages older than the last HISTORY into the summary once the conversation grows long."""
    total = await ChatMessage.filter(conversation_id=conversation.id).count()
    if total <= SUMMARY_THRESHOLD:
        return
    keep = await ChatMessage.filter(conversation_id=conversation.id).order_by("-id").limit(HISTORY)
    oldest_kept = keep[-1].id
    older = ChatMessage.filter(conversation_id=conversation.id, id__lt=oldest_kept)
    if conversation.summarized_through_id is not None:
        older = older.filter(id__gt=conversation.summarized_through_id)
    rows = await older.order_by("id")
    if not rows:
        return
    messages = [{"role": str(r.role).lower(), "content": r.content} for r in rows]
    conversation.summary = await summarise(llm, conversation.summary, messages)
    conversation.summarized_through_id = rows[-1].id
    await conversation.save(update_fields=["summary", "summarized_through_id", "updated_at"])
