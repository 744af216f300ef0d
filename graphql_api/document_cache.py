"""Parse and validate each distinct GraphQL document once: clients send the same few documents again and
again. Strawberry's ParserCache and ValidationCache keep bounded LRU caches keyed by the document text,
the parse options (the token and size limits) and the validation rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress

from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache


class CachedParser(ParserCache):
    """ParserCache, except that a document that fails to parse is left to Strawberry's own parse, which
    reports the syntax error (or the token limit) as a GraphQL error with its code; raised from this hook
    it would escape the error formatting."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        yield


DOCUMENT_CACHES = (CachedParser, ValidationCache)
