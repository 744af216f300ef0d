"""Arena mutations: start, cancel, delete."""

from __future__ import annotations

import strawberry

from graphql_api.arenas import service
from graphql_api.arenas.types import Arena, StartArenaInput
from graphql_api.context import AppInfo
from graphql_api.security import rate_limits


@strawberry.type
class ArenaMutations:
    @strawberry.mutation(
        description="Creates the arena and one QUEUED daily run per model over the same days, all or none, and "
        "hands the runs to workers; returns at once. Counts as one run start per model against the rate limits."
    )
    async def start_arena(self, info: AppInfo, input: StartArenaInput) -> Arena:
        user = await info.context.require_user()
        service.check_model_count(input.model_ids)
        await rate_limits.enforce(info, "start_run", user_id=user.id, cost=len(input.model_ids))
        return Arena.from_row(await service.start_arena(info.context.services, user, input))

    @strawberry.mutation(description="Cancels every queued or running run of the arena.")
    async def cancel_arena(self, info: AppInfo, id: strawberry.ID) -> Arena:
        user = await info.context.require_user()
        return Arena.from_row(await service.cancel_arena(info.context.services, user, id))

    @strawberry.mutation(description="Deletes the arena and its runs; CONFLICT while a run is still active.")
    async def delete_arena(self, info: AppInfo, id: strawberry.ID) -> bool:
        user = await info.context.require_user()
        await service.delete_arena(info.context.services, user, id)
        return True
