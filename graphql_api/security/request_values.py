"""What a client may put in a request's JSON (HTTP body, query string or websocket message) and in the
document's string literals: an object nested at most so deep, and strings that can be stored and encoded.

A NUL character (U+0000) cannot be stored in a PostgreSQL text column, and a lone UTF-16 surrogate
("\\ud800", which JSON allows) cannot be encoded as UTF-8: left in, either fails deep inside a resolver
or a driver. Both are refused at the door, as bad input, wherever the string sits.
"""

from __future__ import annotations

import json
import re
from typing import Any

from graphql import GraphQLError, StringValueNode
from graphql.validation import ValidationRule

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class BadRequestValue(ValueError):
    """The request's JSON is not what a GraphQL request may hold; the message says why."""


def has_unstorable_characters(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def decode_json(data: str | bytes) -> Any:
    """json.loads that reports bad UTF-8, absurd nesting and numbers of thousands of digits as bad input
    rather than crashing."""
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise BadRequestValue("The request is not valid UTF-8.") from None
    except RecursionError:
        raise BadRequestValue("The request's JSON is nested too deeply.") from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # e.g. an integer over Python's 4,300-digit limit
        raise BadRequestValue(f"The request's JSON cannot be read: {exc}") from None


def check_request_value(value: Any, max_depth: int) -> None:
    """Walks every key and value (without recursion): raises BadRequestValue for nesting deeper than
    max_depth or a string holding NUL or a lone surrogate."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if has_unstorable_characters(item):
                raise BadRequestValue("Strings may not contain NUL (U+0000) or lone UTF-16 surrogates (U+D800-U+DFFF).")
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise BadRequestValue(f"The request's JSON is nested more than {max_depth} levels deep.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


class StorableStringsRule(ValidationRule):
    """Refuses string literals in the document that hold NUL (GraphQL lets "\\u0000" through)."""

    def enter_string_value(self, node: StringValueNode, *_args: object) -> None:
        if has_unstorable_characters(node.value):
            self.report_error(GraphQLError("String values may not contain NUL (U+0000) characters.", node))
