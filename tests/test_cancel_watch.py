"""The cancel flags of a process's runs, read for all of them at once at most every CANCEL_CHECK_SECONDS."""

from __future__ import annotations

import asyncio

from db_models.runs import Run
from tasks.cancel_watch import CancelRequests
from tests.support import price_fixtures as px
from tests.support.tool_servers import create_running_run


async def _runs(settings, count: int) -> list[int]:
    clock = px.session_open(px.trading_days()[9])
    return [(await create_running_run(settings, clock_at=clock)).run.id for _ in range(count)]


async def test_one_read_answers_for_every_watched_run_until_it_is_stale(settings, server_url):
    first, second, unwatched = await _runs(settings, 3)
    requests = CancelRequests(every=3600)
    requests.watch(first)
    requests.watch(second)

    assert await requests.requested(first) is False  # reads both
    await Run.filter(id__in=[second, unwatched]).update(cancel_requested=True)
    assert await requests.requested(second) is False  # the first's read answers for it: no query of its own
    assert await requests.requested(unwatched) is True  # a run not watched is read alone

    requests._every = 0  # stale at once: the next check reads again
    assert await asyncio.gather(requests.requested(first), requests.requested(second)) == [False, True]

    requests.unwatch(second)
    requests.watch(second)  # a later attempt of the run starts from a fresh read
    assert await requests.requested(second) is True
