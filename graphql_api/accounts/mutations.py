"""Account mutations: signup, login, logout, and the admin's setUserRole."""

from __future__ import annotations

import strawberry

from db_models import accounts as db
from graphql_api.accounts import service
from graphql_api.accounts.types import AuthPayload, Role, User
from graphql_api.auth import issue_token, load_approved_users, revoke
from graphql_api.context import AppInfo
from graphql_api.errors import Unauthenticated
from graphql_api.security import rate_limits


def _auth_payload(info: AppInfo, user: db.User) -> AuthPayload:
    issued = issue_token(info.context.settings, user.id, user.token_version)
    return AuthPayload(token=issued.token, expires_at=issued.expires_at, user=User.from_row(user))


@strawberry.type
class AccountMutations:
    @strawberry.mutation
    async def signup(self, info: AppInfo, email: str, password: str, display_name: str | None = None) -> AuthPayload:
        await rate_limits.enforce(info, "signup")
        approved = load_approved_users(info.context.settings.approved_users_file)
        return _auth_payload(info, await service.sign_up(email, password, display_name, approved))

    @strawberry.mutation
    async def login(self, info: AppInfo, email: str, password: str) -> AuthPayload:
        await rate_limits.enforce(info, "login", email=email)
        user = await service.authenticate(email, password)
        if user is None:
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
        return User.from_row(await service.set_role(user_id, db.Role(role)))
