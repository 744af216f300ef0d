"""Arena queries."""

from __future__ import annotations

import strawberry

from db_models import arenas as db
from graphql_api.arenas.service import get_owned_arena
from graphql_api.arenas.types import Arena
from graphql_api.context import AppInfo
from graphql_api.pagination import Connection, paginate


@strawberry.type
class ArenaQueries:
    @strawberry.field
    async def arena(self, info: AppInfo, id: strawberry.ID) -> Arena | None:
        user = await info.context.require_user()
        return Arena.from_row(await get_owned_arena(user, id))

    @strawberry.field(description="Your arenas, newest first.")
    async def arenas(self, info: AppInfo, first: int | None = 20, after: str | None = None) -> Connection[Arena]:
        user = await info.context.require_user()
        return await paginate(
            db.Arena.filter(owner_id=user.id), to_node=Arena.from_row, first=first, after=after, descending=True
        )
