"""Open websockets of this process, per client address and per user, against the configured caps.

Counted in the process (a socket lives in one process): with N API replicas behind a balancer a client can
hold up to N times the cap, which still bounds it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable


class SocketCounts:
    def __init__(self) -> None:
        self._open: Counter[Hashable] = Counter()

    def try_open(self, key: Hashable, limit: int) -> bool:
        """Counts one more socket for key, unless key already holds `limit`."""
        if self._open[key] >= limit:
            return False
        self._open[key] += 1
        return True

    def close(self, key: Hashable) -> None:
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]

    def count(self, key: Hashable) -> int:
        return self._open.get(key, 0)
