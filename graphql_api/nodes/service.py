"""Finding Nodes by their global IDs: one query per type named, whatever the number of IDs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from graphql_api.context import RequestContext
from graphql_api.errors import AibtError, BadUserInput, Forbidden, not_found
from graphql_api.ids import split_global_id
from graphql_api.nodes.kinds import NODE_KINDS, NodeKind
from graphql_api.nodes.types import MAX_NODES, Node


def check_node_count(ids: Sequence[str]) -> None:
    if len(ids) > MAX_NODES:
        raise BadUserInput(f"nodes takes at most {MAX_NODES} ids; got {len(ids)}.", field="ids")


async def _find_kind(
    context: RequestContext, kind: NodeKind, wanted: list[tuple[int, int]], ids: Sequence[str]
) -> dict[int, Node | AibtError]:
    """The objects of one kind at their places in `ids`; a row outside the viewer's scope is missing."""
    try:
        viewer = await (context.require_admin() if kind.admin_only else context.require_user())
    except Forbidden as refused:
        return {place: refused for place, _ in wanted}
    keys = sorted({key for _, key in wanted})
    rows = {row.pk: row for row in await kind.model.filter(id__in=keys, **kind.scope(viewer))}
    return {
        place: kind.to_node(rows[key]) if key in rows else not_found(kind.noun, ids[place]) for place, key in wanted
    }


async def find_nodes(context: RequestContext, ids: Sequence[str]) -> list[Node | AibtError]:
    """The object each ID names, in order, or the error its place answers: NOT_FOUND for an ID this API never
    wrote, another user's row or a deleted one; FORBIDDEN for an admin-only kind asked by anyone else."""
    answers: list[Node | AibtError] = [not_found("node", value) for value in ids]
    by_type: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for place, value in enumerate(ids):
        parsed = split_global_id(value)
        if parsed is not None and parsed[0] in NODE_KINDS:
            by_type[parsed[0]].append((place, parsed[1]))
    for type_name, wanted in by_type.items():
        for place, answer in (await _find_kind(context, NODE_KINDS[type_name], wanted, ids)).items():
            answers[place] = answer
    return answers
