"""Gives every error an extensions.code and a request id; hides what was not meant for the client."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from db_models.availability import is_unavailable
from graphql_api.errors import AibtError
from graphql_api.request_ids import current_request_id
from graphql_api.security.query_limits import is_too_complex

logger = logging.getLogger("aibt.errors")

INTERNAL_MESSAGE = "Internal server error. Quote the request id when reporting it."
UNAVAILABLE_MESSAGE = "A backing service is unavailable right now; try again shortly."


# Messages quote what was sent (an id, a symbol, a value that does not coerce); a variable of a megabyte used by
# every alias of a document would otherwise come back once per alias, a response many times the request's size.
MAX_MESSAGE_CHARS = 1_000


def _bounded(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return f"{message[:MAX_MESSAGE_CHARS]}... (cut at {MAX_MESSAGE_CHARS:,} characters)"


def _with_code(error: GraphQLError, message: str, code: str, extra: dict | None = None) -> GraphQLError:
    extensions = {**(extra or {}), "code": code, "requestId": current_request_id.get()}
    return GraphQLError(
        _bounded(message),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def format_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, AibtError):
        return _with_code(error, original.message, original.code, original.extensions)
    if isinstance(original, GraphQLError) and original is not error:
        return format_error(original)
    existing_code = (error.extensions or {}).get("code")
    if existing_code and original is None:
        return _with_code(error, error.message, existing_code)
    if error.path is None and is_too_complex(error):
        return _with_code(error, error.message, "QUERY_TOO_COMPLEX")
    if original is not None and is_unavailable(original):
        # Before the path checks: a subscription whose source fails (no path) is unavailable, not bad input.
        logger.warning("service unavailable at %s: %r", error.path, original)
        return _with_code(error, UNAVAILABLE_MESSAGE, "UNAVAILABLE")
    if error.path is None:
        # Syntax, validation and variable errors: the document or its variables are at fault.
        return _with_code(error, error.message, "BAD_USER_INPUT")
    logger.error(
        "unexpected error (request %s) at %s", current_request_id.get(), error.path, exc_info=original or error
    )
    return _with_code(error, INTERNAL_MESSAGE, "INTERNAL")


def _format_result(result: object) -> None:
    if isinstance(result, (GraphQLExecutionResult, ExecutionResult)) and result.errors:
        result.errors = [e if _is_formatted(e) else format_error(e) for e in result.errors]


def _is_formatted(error: GraphQLError) -> bool:
    return bool(error.extensions and "requestId" in error.extensions)


class ErrorFormatter(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        _format_result(self.execution_context.result)

    def on_stream_result(self, result: object) -> Iterator[None]:
        """Subscriptions (and queries over websockets) deliver results one by one."""
        _format_result(result)
        yield
