"""Run queries."""

from __future__ import annotations

import strawberry

from graphql_api.context import AppInfo
from graphql_api.runs.service import get_owned_run
from graphql_api.runs.types import Run


@strawberry.type
class RunQueries:
    @strawberry.field
    async def run(self, info: AppInfo, id: strawberry.ID) -> Run | None:
        user = await info.context.require_user()
        return Run.from_row(await get_owned_run(user, id))
