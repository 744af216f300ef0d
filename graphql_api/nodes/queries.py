"""node and nodes: any object by its global ID, under the same rules as its type's own root field."""

from __future__ import annotations

import strawberry

from graphql_api.context import AppInfo
from graphql_api.errors import AibtError
from graphql_api.nodes.service import check_node_count, find_nodes
from graphql_api.nodes.types import MAX_NODES, Node


@strawberry.type
class NodeQueries:
    @strawberry.field(
        description="The object with this ID, of any type that implements Node; NOT_FOUND for an ID of another "
        "user's object, a deleted one or one this API never wrote, FORBIDDEN for an admin-only type."
    )
    async def node(self, info: AppInfo, id: strawberry.ID) -> Node | None:
        await info.context.require_user()
        (answer,) = await find_nodes(info.context, [id])
        if isinstance(answer, AibtError):
            raise answer
        return answer

    @strawberry.field(
        description=f"The objects with these IDs (at most {MAX_NODES}), in the same order; each one node would "
        "refuse is null, with its error at its index."
    )
    async def nodes(self, info: AppInfo, ids: list[strawberry.ID]) -> list[Node | None]:
        await info.context.require_user()
        check_node_count(ids)
        # An error in the list is raised by the executor at its index: that place is null, the others stand.
        return await find_nodes(info.context, ids)  # type: ignore[return-value]
