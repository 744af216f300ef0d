"""GraphQL types of accounts."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db_models import accounts as db
from graphql_api.ids import to_global_id
from graphql_api.nodes.types import Node

Role = strawberry.enum(db.Role)


@strawberry.type
class User(Node):
    id: strawberry.ID
    email: str
    role: Role
    display_name: str | None
    avatar_url: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: db.User) -> User:
        return cls(
            id=strawberry.ID(to_global_id("User", row.id)),
            email=row.email,
            role=row.role,
            display_name=row.display_name,
            avatar_url=row.avatar_url,
            created_at=row.created_at,
        )


@strawberry.type
class AuthPayload:
    token: str
    expires_at: datetime
    user: User


@strawberry.input(description="Omitted fields keep their value; null or an empty string clears it.")
class UpdateProfileInput:
    display_name: str | None = strawberry.UNSET
    avatar_url: str | None = strawberry.UNSET
