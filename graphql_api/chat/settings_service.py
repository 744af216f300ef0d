"""The chat AI every user talks to, as admins set it."""

from __future__ import annotations

import datetime as dt

from strawberry import UNSET

from agents.catalog import find_model
from agents.chat.llm import ANALYST_ID
from db_models.chat import GLOBAL_CHAT_SETTINGS_ID
from db_models.chat import GlobalChatSettings as SettingsRow
from graphql_api.chat.types import GlobalChatSettings, GlobalChatSettingsInput
from graphql_api.errors import BadUserInput
from graphql_api.trading_models.types import ModelParameters
from graphql_api.trading_models.validation import MAX_RULES, clean_parameters, clean_text


async def load_settings_row() -> SettingsRow:
    row, _ = await SettingsRow.get_or_create(id=GLOBAL_CHAT_SETTINGS_ID, defaults={"parameters": {}})
    return row


def to_graphql(row: SettingsRow) -> GlobalChatSettings:
    return GlobalChatSettings(
        chat_model=row.chat_model or ANALYST_ID,
        instructions=row.instructions,
        parameters=ModelParameters.from_stored(row.parameters or {}),
        updated_at=row.updated_at,
    )


def _chat_model(model_id: str | None) -> str:
    info = find_model((model_id or "").strip())
    if info is None or (info.local and info.id != ANALYST_ID):
        raise BadUserInput(
            f"chatModel {model_id!r} is not a chat model: use local/analyst or a remote model from Query.aiModels.",
            field="chatModel",
        )
    return info.id


async def update_settings(data: GlobalChatSettingsInput) -> SettingsRow:
    row = await load_settings_row()
    if data.chat_model is not UNSET:
        row.chat_model = None if data.chat_model is None else _chat_model(data.chat_model)
    if data.instructions is not UNSET:
        row.instructions = clean_text(data.instructions, field="instructions", limit=MAX_RULES)
    if data.parameters is not UNSET:
        row.parameters = clean_parameters(data.parameters, row.parameters)
    row.updated_at = dt.datetime.now(dt.UTC)
    await row.save()
    return row
