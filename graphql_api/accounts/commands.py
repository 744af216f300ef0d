"""Account operations for the command line: the API's own account service, on a database opened for the call."""

from __future__ import annotations

from tortoise import Tortoise

from db_models.accounts import Role, User
from db_models.config import apply_migrations, tortoise_config
from db_models.settings import Settings
from graphql_api.accounts.service import create_user


async def create_user_account(
    settings: Settings, email: str, password: str, display_name: str | None, admin: bool
) -> User:
    if settings.is_embedded:
        await apply_migrations(settings.database_url)
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        return await create_user(email, password, display_name, role=Role.ADMIN if admin else Role.USER)
    finally:
        await Tortoise.close_connections()
