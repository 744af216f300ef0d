"""Prometheus metrics of the workers: runs, step latency, LLM and tool latency."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler
from prometheus_client import Counter, Histogram, start_http_server

logger = logging.getLogger("aibt.metrics")

RUNS_STARTED = Counter("aibt_runs_started_total", "Runs a worker began (resumed attempts included).")
RUNS_FINISHED = Counter("aibt_runs_finished_total", "Runs that ended, by final status.", ["status"])
STEP_SECONDS = Histogram(
    "aibt_run_step_seconds",
    "Time of one trading day or decision bar, end to end.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
LLM_SECONDS = Histogram(
    "aibt_llm_call_seconds",
    "Time of one LLM call.",
    ["model"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
TOOL_SECONDS = Histogram(
    "aibt_tool_call_seconds",
    "Time of one tool call.",
    ["tool"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
TOOL_WAIT_SECONDS = Counter(
    "aibt_tool_wait_seconds",
    "Time runs spent with at least one tool call in flight (calls made together counted once).",
)


class LlmLatency(AsyncCallbackHandler):
    """Times a model's LLM calls as LangChain reports them: one per model for the process (`llm_latency`),
    given to the model when it is made, since the process's runs share the model."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._started: dict[UUID, float] = {}

    async def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._started[run_id] = time.perf_counter()

    async def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._finish(run_id)

    async def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._finish(run_id)

    def _finish(self, run_id: UUID) -> None:
        started = self._started.pop(run_id, None)
        if started is not None:
            LLM_SECONDS.labels(self.model).observe(time.perf_counter() - started)


@cache
def llm_latency(model: str) -> LlmLatency:
    return LlmLatency(model)


class ToolLatency:
    """Times one run's tool calls around their execution in the agent loop's tool node (the tools are the
    process's, shared by its runs, so they carry no run's callbacks), and the time it waits on them."""

    def __init__(self) -> None:
        self._in_flight = 0
        self._since = 0.0

    async def timed_tool_call(self, request: Any, execute: Callable[[Any], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        if self._in_flight == 0:
            self._since = started
        self._in_flight += 1
        try:
            return await execute(request)
        finally:
            now = time.perf_counter()
            TOOL_SECONDS.labels(request.tool_call["name"]).observe(now - started)
            self._in_flight -= 1
            if self._in_flight == 0:
                TOOL_WAIT_SECONDS.inc(now - self._since)


def serve_worker_metrics(port: int) -> None:
    """Exposes this worker process's metrics on http://0.0.0.0:<port>/metrics."""
    try:
        start_http_server(port)
    except OSError as exc:  # another worker process of this host holds the port
        logger.warning("worker metrics not served on port %s: %s", port, exc)
