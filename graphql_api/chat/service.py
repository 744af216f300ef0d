"""Conversations and messages, with ownership enforced in one place."""

from __future__ import annotations

import datetime as dt
from typing import Any

from redis.exceptions import RedisError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from db_models.accounts import User
from db_models.chat import DEFAULT_CONVERSATION_TITLE, ChatMessage, Conversation, MessageRole
from db_models.runs import Run
from graphql_api.errors import BadUserInput, Conflict, Unavailable
from graphql_api.ids import find_by_global_id
from graphql_api.one_line import clean_line
from graphql_api.services import Services
from graphql_api.trading_models.service import get_owned_model
from tasks.event_contract import conversation_stream

MAX_TITLE = 200
MAX_MESSAGE = 20_000
REPLY_TIMEOUT = dt.timedelta(minutes=10)  # a reply older than this lost its worker


def conversation_scope(user: User) -> dict[str, Any]:
    """The conversations a user may look up by ID: their own (an admin too sees only theirs)."""
    return {"user_id": user.id}


def message_scope(user: User) -> dict[str, Any]:
    """The chat messages a user may look up by ID: those of their own conversations."""
    return {"conversation__user_id": user.id}


async def get_owned_conversation(user: User, conversation_id: str) -> Conversation:
    return await find_by_global_id(
        Conversation, "Conversation", conversation_id, kind="conversation", **conversation_scope(user)
    )


async def create_conversation(user: User, model_id: str | None, run_id: str | None) -> Conversation:
    if run_id is not None and model_id is None:
        raise BadUserInput("runId needs the modelId of its model.", field="runId")
    model = None if model_id is None else await get_owned_model(user, model_id)
    run = None if run_id is None else await find_by_global_id(Run, "Run", run_id, kind="run", model_id=model.id)
    return await Conversation.create(user_id=user.id, model=model, run=run, title=DEFAULT_CONVERSATION_TITLE)


def scope(user: User, model_id: int | None):
    return (
        Conversation.filter(user_id=user.id, model_id=model_id)
        if model_id
        else Conversation.filter(user_id=user.id, model_id__isnull=True)
    )


def search_conversations(user: User, model_pk: int | None, search: str | None, archived: bool | None = False):
    """The user's conversations in one scope; archived=None lists archived and not archived alike."""
    query = scope(user, model_pk)
    if archived is not None:
        query = query.filter(archived=archived)
    text = (search or "").strip()
    if text:
        if len(text) > 200:
            raise BadUserInput("search must be at most 200 characters.", field="search")
        query = query.filter(Q(title__icontains=text) | Q(messages__content__icontains=text)).distinct()
    return query


async def resume_conversation(user: User, conversation_id: str) -> Conversation:
    conversation = await get_owned_conversation(user, conversation_id)
    async with in_transaction():
        await scope(user, conversation.model_id).exclude(id=conversation.id).update(is_active=False)
        conversation.is_active = True
        await conversation.save(update_fields=["is_active", "updated_at"])
    return conversation


async def rename_conversation(user: User, conversation_id: str, title: str) -> Conversation:
    conversation = await get_owned_conversation(user, conversation_id)
    conversation.title = clean_line(title, field="title", limit=MAX_TITLE)
    await conversation.save(update_fields=["title", "updated_at"])
    return conversation


async def set_archived(user: User, conversation_id: str, archived: bool) -> Conversation:
    conversation = await get_owned_conversation(user, conversation_id)
    if conversation.archived != archived:
        conversation.archived = archived
        await conversation.save(update_fields=["archived", "updated_at"])
    return conversation


async def delete_conversation(services: Services, user: User, conversation_id: str) -> None:
    conversation = await get_owned_conversation(user, conversation_id)
    await conversation.delete()
    await services.require_bus().delete(conversation_stream(conversation.id))


def clean_message(content: str) -> str:
    if not content.strip():
        raise BadUserInput("content must not be empty.", field="content")
    if len(content) > MAX_MESSAGE:
        raise BadUserInput(f"content must be at most {MAX_MESSAGE:,} characters.", field="content")
    return content


async def send_message(services: Services, user: User, conversation_id: str, content: str) -> ChatMessage:
    conversation = await get_owned_conversation(user, conversation_id)
    content = clean_message(content)
    now = dt.datetime.now(dt.UTC)
    async with in_transaction():
        taken = await Conversation.filter(
            Q(reply_started_at__isnull=True) | Q(reply_started_at__lt=now - REPLY_TIMEOUT),
            id=conversation.id,
        ).update(reply_started_at=now, cancel_reply_requested=False)
        if not taken:
            raise Conflict("A reply is still being written; wait for it or cancel it.")
        message = await ChatMessage.create(conversation_id=conversation.id, role=MessageRole.USER, content=content)
    try:
        await services.require_dispatcher().enqueue_reply(conversation.id, message.id)
    except (RedisError, OSError) as exc:
        # No worker will answer it: take the message back and free the conversation, so that sending
        # again later neither conflicts with a reply that never started nor leaves an unanswered copy.
        await ChatMessage.filter(id=message.id).delete()
        await Conversation.filter(id=conversation.id, reply_started_at=now).update(reply_started_at=None)
        raise Unavailable(
            "The reply could not be handed to a worker: the job queue is unavailable. Send the message again shortly."
        ) from exc
    return message


async def cancel_reply(user: User, conversation_id: str) -> bool:
    """True when a reply was in progress and will stop; False when there was none."""
    conversation = await get_owned_conversation(user, conversation_id)
    return bool(
        await Conversation.filter(id=conversation.id, reply_started_at__isnull=False).update(
            cancel_reply_requested=True
        )
    )
