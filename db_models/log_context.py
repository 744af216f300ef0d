"""Who and what a log line is about: request id, user id and run id, carried from API to worker.

Context variables follow asyncio tasks, so a run started in embedded mode keeps its request's id; a
Dramatiq message carries the id to a worker process, which sets it again.
"""

from __future__ import annotations

import logging
import os
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")
current_user_id: ContextVar[int | None] = ContextVar("current_user_id", default=None)
current_run_id: ContextVar[int | None] = ContextVar("current_run_id", default=None)

TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s user_id=%(user_id)s run_id=%(run_id)s] %(message)s"
)
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s %(run_id)s"


class LogContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        record.user_id = current_user_id.get()
        record.run_id = current_run_id.get()
        return True


def configure_logging(level: str = "INFO", log_format: str | None = None) -> None:
    """Structured JSON lines (AIBT_LOG_FORMAT=json, the default in production) or readable text."""
    log_format = (
        log_format
        or os.environ.get("AIBT_LOG_FORMAT")
        or ("json" if os.environ.get("AIBT_ENV") == "production" else "text")
    )
    handler = logging.StreamHandler()
    handler.addFilter(LogContextFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level", "asctime": "time"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
