"""The Node interface: implemented by every type whose ID is an opaque global ID (graphql_api/ids.py)."""

from __future__ import annotations

import strawberry

MAX_NODES = 100  # ids of one `nodes` query


@strawberry.interface(description="An object with an opaque global ID; Query.node finds it again by that ID.")
class Node:
    id: strawberry.ID
