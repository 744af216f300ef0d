"""Account queries: who am I, and (for admins) everyone."""

from __future__ import annotations

import strawberry

from db_models import accounts as db
from graphql_api.accounts.types import User
from graphql_api.context import AppInfo
from graphql_api.pagination import Connection, paginate


@strawberry.type
class AccountQueries:
    @strawberry.field(description="Null when the request carries no valid token.")
    async def me(self, info: AppInfo) -> User | None:
        user = await info.context.optional_user()
        return User.from_row(user) if user else None

    @strawberry.field(description="Admin only.")
    async def users(self, info: AppInfo, first: int | None = 50, after: str | None = None) -> Connection[User]:
        await info.context.require_admin()
        return await paginate(db.User.all(), to_node=User.from_row, first=first, after=after)
