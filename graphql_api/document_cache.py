"""Parse and validate each distinct GraphQL document once, and never on the event loop.

Clients send the same few documents again and again: both steps are kept in bounded LRU caches keyed by the
document text and the options and rules in force. A document not seen before is parsed and validated on a
small pool of worker threads, so a large document (a 5,000-token parse takes ~100 ms on a busy machine)
delays only its own request, never /healthz or the other requests on this process.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension

from graphql_api.errors import QueryTooComplex

T = TypeVar("T")

CACHE_ENTRIES = 256
MAX_VALIDATION_ERRORS = 100
# Two threads: enough to overlap a slow document with others, few enough that a burst queues rather than
# taking the interpreter lock from the event loop all at once.
_DOCUMENT_WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="graphql-documents")


class _LRU(Generic[T]):
    def __init__(self, max_entries: int = CACHE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, T] = OrderedDict()

    async def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        value = await asyncio.get_running_loop().run_in_executor(_DOCUMENT_WORKERS, compute)
        self._entries[key] = value
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return value


_parsed: _LRU[DocumentNode | GraphQLError] = _LRU()
_validated: _LRU[list[GraphQLError]] = _LRU()


def _too_deep() -> GraphQLError:
    refusal = QueryTooComplex("The document is nested too deeply.")
    return GraphQLError(refusal.message, original_error=refusal)


def _parse_or_error(query: str, options: dict[str, Any]) -> DocumentNode | GraphQLError:
    try:
        return parse(query, **options)
    except GraphQLError as error:  # a syntax error or a parser limit: the client's to read
        return error
    except RecursionError:
        return _too_deep()


async def parse_document(query: str, options: dict[str, Any]) -> DocumentNode | GraphQLError:
    key = (query, tuple(sorted(options.items())))
    return await _parsed.get_or_compute(key, lambda: _parse_or_error(query, options))


async def validate_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    query: str,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    """graphql-core's validation with the given rules; a document is identified by its text."""
    key = (id(schema), query, rules, hide_suggestions)

    def run() -> list[GraphQLError]:
        try:
            return validate(
                schema, document, rules, max_errors=MAX_VALIDATION_ERRORS, hide_suggestions=hide_suggestions
            )
        except RecursionError:
            return [_too_deep()]

    return await _validated.get_or_compute(key, run)


# Carries a syntax error through Strawberry's pipeline: Strawberry parses again (on the event loop) whenever
# an extension leaves no document, so a document that failed to parse is replaced by this one, with the
# syntax error already recorded as the operation's error. Nothing is executed.
PLACEHOLDER = parse("{ __typename }")


def is_placeholder(document: DocumentNode | None) -> bool:
    return document is PLACEHOLDER


class OffLoopParser(SchemaExtension):
    async def on_parse(self) -> AsyncIterator[None]:  # type: ignore[override]
        context = self.execution_context
        if context.graphql_document is None and context.query:
            outcome = await parse_document(context.query, dict(context.parse_options))
            if isinstance(outcome, GraphQLError):
                context.graphql_document = PLACEHOLDER
                context.pre_execution_errors = [outcome]
            else:
                context.graphql_document = outcome
        yield
