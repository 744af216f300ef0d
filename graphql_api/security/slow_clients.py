"""A deadline for receiving each HTTP request: its line, headers and body within AIBT_REQUEST_TIMEOUT_SECONDS.

uvicorn times out only idle keep-alive connections, and every byte received resets that timer: a client that
connects and sends nothing, or sends its headers or its body a byte at a time (slowloris), holds a connection
and its file descriptor for as long as it likes, and enough of them starve everyone else. The app sees no
request before its headers are complete, so the deadline lives in the HTTP protocol `aibt serve` runs (h11,
which also bounds the size of the headers). A request received whole is not timed: a slow answer, a long
GraphQL operation or a websocket may take as long as it needs.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger("aibt.security")


class _RequestDeadline(H11Protocol):
    request_timeout_seconds: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # from the first byte the client could send

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()  # received whole (or the connection is ending)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm()  # the websocket protocol takes the connection over, with its own init timeout
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout_seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            logger.debug("closing a connection whose request did not arrive within %s s", self.request_timeout_seconds)
            self.transport.close()  # an app still reading the body sees the client disconnect


_PROTOCOL_PREFIX, _PROTOCOL_SUFFIX = "RequestDeadline", "msH11Protocol"


def request_deadline_protocol(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline of `seconds` for each request to arrive."""
    return _protocol(round(seconds * 1000))


@cache  # one class per deadline, so that a pickled class is found again as the same object
def _protocol(milliseconds: int) -> type[H11Protocol]:
    name = f"{_PROTOCOL_PREFIX}{milliseconds}{_PROTOCOL_SUFFIX}"
    attributes = {"request_timeout_seconds": milliseconds / 1000, "__module__": __name__}
    return type(name, (_RequestDeadline,), attributes)


def __getattr__(name: str) -> type[H11Protocol]:
    """`aibt serve --workers N` hands uvicorn's options to spawned processes by pickling, which names a class
    by its module and name: a worker finds the protocol class here again."""
    if name.startswith(_PROTOCOL_PREFIX) and name.endswith(_PROTOCOL_SUFFIX):
        digits = name[len(_PROTOCOL_PREFIX) : -len(_PROTOCOL_SUFFIX)]
        if digits.isdigit():
            return request_deadline_protocol(int(digits) / 1000)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
