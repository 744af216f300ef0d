"""Depth, alias, token and size limits on every GraphQL document, and introspection off in production.

Built from Strawberry's own limiters (QueryDepthLimiter, MaxAliasesLimiter, MaxTokensLimiter,
DisableIntrospection), but reading their limits from the running app's SecurityConfig on each operation,
so one schema serves every configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from graphql import GraphQLError
from graphql.language import FragmentDefinitionNode, FragmentSpreadNode, Visitor, visit
from graphql.validation import NoSchemaIntrospectionCustomRule, ValidationContext, ValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from graphql_api.security.config import SecurityConfig

# The messages of the limits above, as graphql-core and Strawberry word them.
_TOO_COMPLEX = (
    re.compile(r"exceeds maximum operation depth of \d+"),
    re.compile(r"^\d+ aliases found\. Allowed: \d+"),
    re.compile(r"^Syntax Error: Document contains more than \d+ tokens"),
    re.compile(r"^Syntax Error: Source contains more than \d+ code points"),
    re.compile(r"^Syntax Error: Document is nested too deeply"),
)


def is_too_complex(error: GraphQLError) -> bool:
    """True for the errors the limits above raise: they answer QUERY_TOO_COMPLEX."""
    message = error.message
    return any(pattern.search(message) for pattern in _TOO_COMPLEX)


def _spreads_defined(document) -> bool:
    """The depth limiter looks fragments up by name: it runs only when every spread names a defined
    fragment (graphql-core's KnownFragmentNames reports the others)."""
    defined = {d.name.value for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    missing: list[str] = []

    class Spreads(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_args) -> None:
            if node.name.value not in defined:
                missing.append(node.name.value)

    visit(document, Spreads())
    return not missing


@lru_cache(maxsize=32)
def _depth_rule(max_depth: int) -> type[ValidationRule]:
    inner = depth_validator(max_depth, None, None)

    class DepthRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            if _spreads_defined(context.document):
                inner(context)
            super().__init__(context)

    return DepthRule


@lru_cache(maxsize=32)
def _alias_rule(max_aliases: int) -> type[ValidationRule]:
    return alias_validator(max_aliases)


def _config_of(context: object) -> SecurityConfig:
    security = getattr(context, "security", None)
    return security.config if security is not None else SecurityConfig()


class QueryLimits(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        ec = self.execution_context
        config = _config_of(ec.context)
        # MaxTokensLimiter's option; max_source_length rejects an oversized document before lexing.
        ec.parse_options["max_tokens"] = config.max_tokens
        ec.parse_options["max_source_length"] = config.max_query_bytes
        rules: list[type[ValidationRule]] = [_depth_rule(config.max_query_depth), _alias_rule(config.max_aliases)]
        if not config.introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        ec.validation_rules = (*ec.validation_rules, *rules)
        yield
