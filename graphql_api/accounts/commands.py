"""Account operations for the command line, sharing the API's validation rules."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.exceptions import IntegrityError

from db_models.accounts import Role, User
from db_models.config import apply_migrations, tortoise_config
from db_models.settings import Settings
from graphql_api.accounts.validation import check_password, clean_display_name, clean_email
from graphql_api.auth import hash_password
from graphql_api.errors import Conflict


async def create_user_account(
    settings: Settings, email: str, password: str, display_name: str | None, admin: bool
) -> User:
    email = clean_email(email)
    check_password(password)
    if settings.is_embedded:
        await apply_migrations(settings.database_url)
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        return await User.create(
            email=email,
            password_hash=await hash_password(password),
            role=Role.ADMIN if admin else Role.USER,
            display_name=clean_display_name(display_name),
        )
    except IntegrityError:
        raise Conflict(f"An account with email {email} already exists.") from None
    finally:
        await Tortoise.close_connections()
