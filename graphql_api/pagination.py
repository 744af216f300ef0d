"""Relay cursor connections over Tortoise querysets, paged by key so pages stay stable as rows arrive."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from tortoise.queryset import QuerySet

from graphql_api.errors import BadUserInput
from graphql_api.ids import parse_cursor, to_cursor

MAX_PAGE_SIZE = 100

NodeType = TypeVar("NodeType")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeType]):
    cursor: str
    node: NodeType


@strawberry.type
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]]
    page_info: PageInfo
    # A COUNT(*) costs a statement: it runs only when the document asks for totalCount.
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    async def total_count(self) -> int:
        return await self.count()


DEFAULT_PAGE_SIZE = 20


def check_page_size(value: int | None, argument: str = "first") -> int:
    """An explicit null means the default page size."""
    if value is None:
        return DEFAULT_PAGE_SIZE
    if value < 0 or value > MAX_PAGE_SIZE:
        raise BadUserInput(f"{argument} must be between 0 and {MAX_PAGE_SIZE}; got {value}.")
    return value


def _cursor_key(cursor: str | None, argument: str) -> int | None:
    if cursor is None:
        return None
    key = parse_cursor(cursor)
    if key is None:
        raise BadUserInput(f"{argument} is not a cursor this API issued.")
    return key


async def paginate(
    queryset: QuerySet,
    *,
    to_node: Callable[[Any], Any],
    first: int | None,
    after: str | None,
    descending: bool = False,
    key: str = "id",
) -> Connection:
    """Forward paging: `first` rows after the `after` cursor, ordered by `key`."""
    first = check_page_size(first)
    after_key = _cursor_key(after, "after")
    page = queryset
    if after_key is not None:
        page = page.filter(**{f"{key}__lt" if descending else f"{key}__gt": after_key})
    rows = await page.order_by(f"-{key}" if descending else key).limit(first + 1)
    return _connection(
        rows[:first], to_node, key, queryset.count, has_next=len(rows) > first, has_previous=after_key is not None
    )


async def paginate_backward(
    queryset: QuerySet,
    *,
    to_node: Callable[[Any], Any],
    last: int | None,
    before: str | None,
    key: str = "id",
) -> Connection:
    """Backward paging: the newest `last` rows before `before`, returned oldest first."""
    last = check_page_size(last, "last")
    before_key = _cursor_key(before, "before")
    page = queryset if before_key is None else queryset.filter(**{f"{key}__lt": before_key})
    rows = await page.order_by(f"-{key}").limit(last + 1)
    kept = list(reversed(rows[:last]))
    return _connection(
        kept, to_node, key, queryset.count, has_next=before_key is not None, has_previous=len(rows) > last
    )


def _connection(
    rows: Sequence[Any],
    to_node: Callable[[Any], Any],
    key: str,
    count: Callable[[], Awaitable[int]],
    *,
    has_next: bool,
    has_previous: bool,
) -> Connection:
    edges = [Edge(cursor=to_cursor(getattr(row, key)), node=to_node(row)) for row in rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )
