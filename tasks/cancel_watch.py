"""Whether the user asked to cancel a run, as the run's step boundaries ask it: read from the database for
all the runs of the process at once, at most every CANCEL_CHECK_SECONDS.

A fast model's step boundaries come milliseconds apart, and a cancel seen that much later loses nothing;
fifty runs of one process asking each for itself made a query per run every quarter second, one in twenty
of the event loop's samples. One query now answers for every run the process is watching.
"""

from __future__ import annotations

import asyncio
import time

from db_models.runs import Run

CANCEL_CHECK_SECONDS = 0.25  # how stale a run's cancel flag may be when a step boundary reads it


class CancelRequests:
    """The cancel flags of the runs this event loop is watching, read together."""

    def __init__(self, every: float = CANCEL_CHECK_SECONDS) -> None:
        self.loop = asyncio.get_running_loop()
        self._every = every
        self._watched: dict[int, int] = {}  # run id -> how many watches (an attempt's, a retry's)
        self._cancelled: set[int] = set()
        self._read: set[int] = set()  # the runs the last read covered
        self._read_at = 0.0
        self._reading: asyncio.Future[None] | None = None

    def watch(self, run_id: int) -> None:
        self._watched[run_id] = self._watched.get(run_id, 0) + 1

    def unwatch(self, run_id: int) -> None:
        left = self._watched.pop(run_id, 1) - 1
        if left:
            self._watched[run_id] = left
        else:
            self._cancelled.discard(run_id)

    async def requested(self, run_id: int) -> bool:
        if run_id in self._cancelled:
            return True
        if run_id not in self._watched:  # asked outside a watch: read for it alone
            return await Run.filter(id=run_id, cancel_requested=True).exists()
        # A read under way may have started before the run was watched, or too long ago: then the next one does.
        oldest = time.monotonic() - self._every
        while run_id not in self._read or self._read_at < oldest:
            await self._refresh()
        return run_id in self._cancelled

    async def _refresh(self) -> None:
        """One read for every watched run; a run asking while it is under way waits for it."""
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read_flags())
        reading = self._reading
        try:
            await asyncio.shield(reading)  # a waiter cancelled must not cancel the read for the others
        finally:
            if self._reading is reading and reading.done():
                self._reading = None

    async def _read_flags(self) -> None:
        ids = list(self._watched)
        started = time.monotonic()
        cancelled = await Run.filter(id__in=ids, cancel_requested=True).values_list("id", flat=True)
        self._cancelled.update(cancelled)
        self._read, self._read_at = set(ids), started


_requests: CancelRequests | None = None


def cancel_requests() -> CancelRequests:
    """This event loop's reader (a worker process runs all its runs on one loop)."""
    global _requests
    if _requests is None or _requests.loop is not asyncio.get_running_loop():
        _requests = CancelRequests()
    return _requests


class CancelWatch:
    """A run's `should_stop`: whether its user asked to cancel it. Watched while the run's attempt is
    in its `async with` block."""

    def __init__(self, run_id: int) -> None:
        self._run_id = run_id
        self._requests = cancel_requests()

    async def __aenter__(self) -> CancelWatch:
        self._requests.watch(self._run_id)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._requests.unwatch(self._run_id)

    async def __call__(self) -> bool:
        return await self._requests.requested(self._run_id)
