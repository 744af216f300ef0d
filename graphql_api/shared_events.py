"""Runs a subscription event's selection once per process, however many sockets subscribed to it.

graphql-core executes the subscription's selection set for every event and every subscriber: with 500
subscribers to one run, each run event was executed 500 times, the largest cost of a fan-out. An event
whose payload carries an `event_key` (its stream and seq, the same for every subscriber and every replay)
is executed once per distinct document, operation and variables; the other subscribers reuse that result.

Only payload types whose fields depend on the event alone may carry an `event_key`: their results must
be the same for whoever receives them. Who may receive the event at all is decided before it is yielded
(ownership when subscribing, and while_authorised per event). Results with errors are never shared.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

from graphql import ExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

MAX_SHARED_RESULTS = 1024  # a few seconds of events of many runs; a miss only executes again


class SharedResults:
    """A bounded, least-recently-used map from an event execution's key to its result."""

    def __init__(self, max_entries: int = MAX_SHARED_RESULTS) -> None:
        self.max_entries = max_entries
        self._results: OrderedDict[tuple, ExecutionResult] = OrderedDict()

    def get(self, key: tuple) -> ExecutionResult | None:
        result = self._results.get(key)
        if result is not None:
            self._results.move_to_end(key)
        return result

    def put(self, key: tuple, result: ExecutionResult) -> None:
        if result.errors:
            return
        self._results[key] = result
        self._results.move_to_end(key)
        while len(self._results) > self.max_entries:
            self._results.popitem(last=False)


shared_results = SharedResults()


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    shared_key: tuple | None = None
    _operation_key: tuple | None = None  # the subscription's document, operation and variables, made once

    def build_per_event_executor(self, payload: Any) -> SharedEventExecutor:
        executor = super().build_per_event_executor(payload)
        event_key = getattr(payload, "event_key", None)
        operation_key = self.operation_key()
        executor.shared_key = None if event_key is None or operation_key is None else (event_key, *operation_key)
        return executor

    def operation_key(self) -> tuple | None:
        """The subscription's document, operation name and variables: what its subscribers share."""
        if self._operation_key is None:
            location = self.operation.loc
            if location is None:
                return None
            variables = json.dumps(self.variable_values.coerced, sort_keys=True, default=str)
            self._operation_key = (location.source.body, self.operation.name and self.operation.name.value, variables)
        return self._operation_key

    def execute_operation(self, serially: bool | None = None) -> Any:
        key = self.shared_key
        if key is None:
            return super().execute_operation(serially)
        cached = shared_results.get(key)
        if cached is not None:
            return cached
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return self._store_when_done(key, result)
        shared_results.put(key, result)
        return result

    @staticmethod
    async def _store_when_done(key: tuple, pending: Awaitable[ExecutionResult]) -> ExecutionResult:
        result = await pending
        shared_results.put(key, result)
        return result
