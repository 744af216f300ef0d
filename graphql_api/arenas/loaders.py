"""DataLoaders of arenas: an arena by id, the member runs of a page of arenas, an arena's baselines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from db_models.arenas import Arena
from db_models.baselines import Baseline, arena_baselines
from db_models.runs import Run


async def arenas_by_id(ids: Sequence[int]) -> list[Arena | None]:
    rows = {a.id: a for a in await Arena.filter(id__in=list(set(ids)))}
    return [rows.get(i) for i in ids]


async def runs_by_arena(arena_ids: Sequence[int]) -> list[list[Run]]:
    """Each arena's member runs in the order they were created, in one query for the whole page."""
    members: dict[int, list[Run]] = defaultdict(list)
    for run in await Run.filter(arena_id__in=list(set(arena_ids))).order_by("id"):
        members[run.arena_id].append(run)
    return [members[i] for i in arena_ids]


async def baselines_by_arena(arenas: Sequence[Arena]) -> list[list[Baseline]]:
    """Each arena's baselines, made once per request for both Arena.benchmarks and Arena.standings."""
    members = await runs_by_arena([a.id for a in arenas])
    return [await arena_baselines(arena, [r.id for r in runs]) for arena, runs in zip(arenas, members, strict=True)]
