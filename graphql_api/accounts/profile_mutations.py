"""A signed-in user's own account: their profile (display name, avatar) and their password."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from db_models import accounts as db
from graphql_api.accounts.types import AuthPayload, UpdateProfileInput, User
from graphql_api.accounts.validation import check_password, clean_avatar_url, clean_display_name
from graphql_api.auth import PASSWORD_CHANGED, hash_password, issue_token, verify_password
from graphql_api.context import AppInfo
from graphql_api.errors import BadUserInput, Unauthenticated
from graphql_api.security import rate_limits


@strawberry.type
class ProfileMutations:
    @strawberry.mutation(description="Sets the caller's display name and avatar URL (http or https).")
    async def update_profile(self, info: AppInfo, input: UpdateProfileInput) -> User:
        user = await info.context.require_user()
        changed = []
        if input.display_name is not strawberry.UNSET:
            user.display_name = clean_display_name(input.display_name)
            changed.append("display_name")
        if input.avatar_url is not strawberry.UNSET:
            user.avatar_url = clean_avatar_url(input.avatar_url)
            changed.append("avatar_url")
        if changed:
            await user.save(update_fields=[*changed, "updated_at"])
        return User.from_row(user)

    @strawberry.mutation(
        description="Changes the caller's password. Every token issued before stops working, the one that "
        "made the request included: the answer carries the new token to use from now on."
    )
    async def change_password(self, info: AppInfo, current_password: str, new_password: str) -> AuthPayload:
        user = await info.context.require_user()
        check_password(new_password, field="newPassword")
        # A stolen token must not become a free password oracle: wrong guesses count as failed logins.
        await rate_limits.enforce(info, "login", email=user.email)
        if not await verify_password(user.password_hash, current_password):
            await rate_limits.login_failed(info, user.email)
            raise BadUserInput("currentPassword is not the account's password.", field="currentPassword")
        password_hash = await hash_password(new_password)
        # Compare and set: of changes racing from one session, the first wins; the others find the version their
        # token carried gone and change nothing (left alone, each would answer a token the next one outdates).
        changed = await db.User.filter(id=user.id, token_version=user.token_version).update(
            password_hash=password_hash, token_version=user.token_version + 1, updated_at=datetime.now(UTC)
        )
        if not changed:
            raise Unauthenticated(PASSWORD_CHANGED)
        await user.refresh_from_db(fields=["password_hash", "token_version", "updated_at"])
        await rate_limits.login_succeeded(info, user.email)
        issued = issue_token(info.context.settings, user.id, user.token_version)
        return AuthPayload(token=issued.token, expires_at=issued.expires_at, user=User.from_row(user))
