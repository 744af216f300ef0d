"""Conversations with the analyst AI, their messages, and the chat settings admins set for everyone."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

# A conversation's title until the reply to its first message names it.
DEFAULT_CONVERSATION_TITLE = "New conversation"


class MessageRole(StrEnum):
    USER = "USER"
    ASSISTANT = "ASSISTANT"
    SYSTEM = "SYSTEM"


class Conversation(Model):
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("aibt.User", related_name="conversations", on_delete=fields.CASCADE)
    model = fields.ForeignKeyField(
        "aibt.TradingModel", related_name="conversations", null=True, on_delete=fields.CASCADE
    )
    run = fields.ForeignKeyField("aibt.Run", related_name="conversations", null=True, on_delete=fields.SET_NULL)
    title = fields.CharField(max_length=200, default=DEFAULT_CONVERSATION_TITLE)
    is_active = fields.BooleanField(default=True)
    archived = fields.BooleanField(
        default=False, db_default=False
    )  # out of the default list; still readable and writable
    summary = fields.TextField(null=True)
    # Messages folded into the summary: those with an id up to this one.
    summarized_through_id = fields.IntField(null=True)
    # Set while a reply is being produced (a second message then answers CONFLICT); a reply whose
    # worker died is taken as over once this is old, so a conversation is never locked for good.
    reply_started_at = fields.DatetimeField(null=True)
    cancel_reply_requested = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "conversations"
        indexes = (("user_id", "model_id", "updated_at"),)


class ChatMessage(Model):
    id = fields.IntField(primary_key=True)
    conversation = fields.ForeignKeyField("aibt.Conversation", related_name="messages", on_delete=fields.CASCADE)
    role = fields.CharEnumField(MessageRole, max_length=16)
    content = fields.TextField()
    tool_calls = fields.JSONField(null=True)
    # True when the reply was cancelled or failed part-way and holds only what was generated.
    cut_short = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "chat_messages"
        indexes = (("conversation_id", "id"),)


GLOBAL_CHAT_SETTINGS_ID = 1  # the only row of GlobalChatSettings (its docstring is its table comment)


class GlobalChatSettings(Model):
    """A single row (id 1): the chat AI every user talks to, when an admin has chosen one."""

    id = fields.IntField(primary_key=True)
    chat_model = fields.CharField(max_length=120, null=True)
    instructions = fields.TextField(null=True)
    parameters = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "global_chat_settings"
