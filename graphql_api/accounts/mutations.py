"""Account mutations: signup, login, logout, and the admin's setUserRole."""

from __future__ import annotations

import strawberry
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db_models import accounts as db
from graphql_api.accounts.types import AuthPayload, Role, User
from graphql_api.accounts.validation import check_password, clean_display_name, clean_email
from graphql_api.auth import hash_password, issue_token, load_approved_users, revoke, verify_password
from graphql_api.context import AppInfo
from graphql_api.errors import Conflict, Unauthenticated, not_found
from graphql_api.ids import parse_global_id
from graphql_api.security import rate_limits


def _auth_payload(info: AppInfo, user: db.User) -> AuthPayload:
    issued = issue_token(info.context.settings, user.id)
    return AuthPayload(token=issued.token, expires_at=issued.expires_at, user=User.from_row(user))


@strawberry.type
class AccountMutations:
    @strawberry.mutation
    async def signup(self, info: AppInfo, email: str, password: str, display_name: str | None = None) -> AuthPayload:
        await rate_limits.enforce(info, "signup")
        email = clean_email(email)
        check_password(password)
        display_name = clean_display_name(display_name)
        approved = load_approved_users(info.context.settings.approved_users_file)
        role = approved.role_for(email) if approved else db.Role.USER
        try:
            user = await db.User.create(
                email=email, password_hash=await hash_password(password), role=role, display_name=display_name
            )
        except IntegrityError:
            raise Conflict("An account with this email already exists.", field="email") from None
        return _auth_payload(info, user)

    @strawberry.mutation
    async def login(self, info: AppInfo, email: str, password: str) -> AuthPayload:
        await rate_limits.enforce(info, "login", email=email)
        user = await db.User.get_or_none(email=email.strip().lower())
        if not await verify_password(user.password_hash if user else None, password) or user is None:
            await rate_limits.login_failed(info, email)
            raise Unauthenticated("Invalid email or password.")
        await rate_limits.login_succeeded(info, email)
        return _auth_payload(info, user)

    @strawberry.mutation(description="Revokes the token that made the request.")
    async def logout(self, info: AppInfo) -> bool:
        _, claims = await info.context.require_auth()
        await revoke(claims)
        return True

    @strawberry.mutation(description="Admin only.")
    async def set_user_role(self, info: AppInfo, user_id: strawberry.ID, role: Role) -> User:
        await info.context.require_admin()
        pk = parse_global_id("User", user_id, kind="user")
        async with in_transaction():
            target = await db.User.filter(id=pk).select_for_update().first()
            if target is None:
                raise not_found("user", user_id)
            if target.role == db.Role.ADMIN and role != db.Role.ADMIN:
                admins = await db.User.filter(role=db.Role.ADMIN).count()
                if admins <= 1:
                    raise Conflict("The last admin cannot be demoted; promote another user first.")
            target.role = db.Role(role)
            await target.save(update_fields=["role", "updated_at"])
        return User.from_row(target)
