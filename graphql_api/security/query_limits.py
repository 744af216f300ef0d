"""Every GraphQL document passes these limits before anything runs, in this order, cheapest first:

0. subscriptions only over a websocket (over HTTP they would have no stream to deliver events on);
1. size and tokens, while parsing (graphql-core's parser limits: max_source_length, max_tokens);
2. shape: selections, repeats and depth, with fragments expanded (document_shape.py), so that
3. validation, off the event loop (document_cache.py), cannot take long: graphql-core's rules, Strawberry's
   alias limit, introspection off in production, storable strings, "Did you mean" hints off where asked;
4. cost: the objects the response could hold, from `first`, list sizes and ranges (query_cost.py), at most
   AIBT_MAX_QUERY_COST per operation and AIBT_RATE_LIMIT_QUERY_COST_IP per address and window.

Limits are read from the running app's SecurityConfig on each operation, so one schema serves every
configuration.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache

from graphql import GraphQLError
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.execution import ExecutionContext
from strawberry.types.graphql import OperationType

from graphql_api.document_cache import validate_document
from graphql_api.errors import AibtError, BadUserInput, QueryTooComplex, RateLimited
from graphql_api.security.config import SecurityConfig
from graphql_api.security.document_shape import ShapeLimits, check_document_shape
from graphql_api.security.query_cost import check_cost, estimate_cost
from graphql_api.security.rate_limits import spend_query_cost
from graphql_api.security.request_values import StorableStringsRule

# The messages of the parser's and Strawberry's limits, as graphql-core and Strawberry word them.
_TOO_COMPLEX = (
    re.compile(r"^\d+ aliases found\. Allowed: \d+"),
    re.compile(r"^Syntax Error: Document contains more than \d+ tokens"),
    re.compile(r"^Syntax Error: Source contains more than \d+ code points"),
    re.compile(r"^Syntax Error: Document is nested too deeply"),
)


def is_too_complex(error: GraphQLError) -> bool:
    """True for the errors the limits above raise: they answer QUERY_TOO_COMPLEX."""
    message = error.message
    return any(pattern.search(message) for pattern in _TOO_COMPLEX)


@lru_cache(maxsize=32)
def _alias_rule(max_aliases: int) -> type[ASTValidationRule]:
    return alias_validator(max_aliases)


def _config_of(context: object) -> SecurityConfig:
    security = getattr(context, "security", None)
    return security.config if security is not None else SecurityConfig()


def _rules(context: ExecutionContext, config: SecurityConfig) -> tuple[type[ASTValidationRule], ...]:
    rules = [*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule]
    rules += [_alias_rule(config.max_aliases), StorableStringsRule]
    if not config.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


def _refusal(error: AibtError) -> GraphQLError:
    return GraphQLError(error.message, original_error=error)


def _check_transport(context: ExecutionContext) -> None:
    request = getattr(context.context, "request", None)
    if context.operation_type == OperationType.SUBSCRIPTION and not isinstance(request, WebSocket):
        raise BadUserInput("Subscriptions are served over a websocket (graphql-transport-ws) at /graphql.")


async def _document_errors(context: ExecutionContext, config: SecurityConfig) -> list[GraphQLError]:
    document, schema = context.graphql_document, context.schema._schema
    assert document is not None
    try:
        _check_transport(context)
        check_document_shape(document, ShapeLimits(config.max_fields, config.max_field_repeats, config.max_query_depth))
    except (BadUserInput, QueryTooComplex) as refused:
        return [_refusal(refused)]
    errors = await validate_document(
        schema, document, context.query or "", _rules(context, config), hide_suggestions=not config.suggestions
    )
    if errors:
        return errors
    try:
        cost = estimate_cost(schema, document, context.operation_name, context.variables)
        check_cost(cost, config.max_query_cost)
        if cost is not None:
            await spend_query_cost(context.context, cost)
    except (QueryTooComplex, RateLimited) as refused:
        return [_refusal(refused)]
    return []


class QueryLimits(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        config = _config_of(context.context)
        # max_source_length refuses an oversized document before lexing; max_tokens counts comments too.
        context.parse_options["max_tokens"] = config.max_tokens
        context.parse_options["max_source_length"] = config.max_query_bytes
        yield

    async def on_validate(self) -> AsyncIterator[None]:  # type: ignore[override]
        context = self.execution_context
        if context.pre_execution_errors is None:  # a syntax error is already the answer
            context.pre_execution_errors = await _document_errors(context, _config_of(context.context))
        yield
