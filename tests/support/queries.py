"""Counts the SQL statements Tortoise sends, to show that a query's cost does not grow with its page.

Only the statements made on behalf of one request count: background work another test left running (a chat
reply, a run) shares the process and its log, so counting every statement would make the figures flaky.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from db_models.log_context import current_request_id

_STATEMENT_PREFIXES = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


def new_request_id() -> str:
    """An X-Request-ID to send with a request whose statements are counted."""
    return f"count-{uuid.uuid4().hex}"


class _Counter(logging.Handler):
    def __init__(self, request_id: str) -> None:
        super().__init__(logging.DEBUG)
        self.request_id = request_id
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Logging runs in the task that sent the statement, so the context is that of the work it serves.
        if current_request_id.get() != self.request_id:
            return
        text = record.getMessage().lstrip()
        if text.upper().startswith(_STATEMENT_PREFIXES):
            self.statements.append(text)


@contextmanager
def count_sql(request_id: str | None = None) -> Iterator[list[str]]:
    """Statements of the request sent with this X-Request-ID or, without one, of the code in the block itself."""
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter(request_id if request_id is not None else current_request_id.get())
    previous = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        yield counter.statements
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)
