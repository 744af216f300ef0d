"""Errors a resolver raises on purpose; each carries one of the contract's extensions.code values."""

from __future__ import annotations

from typing import Any


class AibtError(Exception):
    """Base of every error a client is meant to read. Its message reaches the client as is."""

    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class Unauthenticated(AibtError):
    """The request has no valid token (missing, malformed, expired, revoked) or bad credentials."""

    code = "UNAUTHENTICATED"


class Forbidden(AibtError):
    """The user is known but their role does not allow the operation."""

    code = "FORBIDDEN"


class NotFound(AibtError):
    """The resource does not exist, or belongs to another user: the two are indistinguishable."""

    code = "NOT_FOUND"


class BadUserInput(AibtError):
    """An argument fails validation; the message names the field and the rule."""

    code = "BAD_USER_INPUT"


class Conflict(AibtError):
    """The request clashes with the current state (a duplicate email, an active run)."""

    code = "CONFLICT"


class RateLimited(AibtError):
    """Too many requests; extensions carry retryAfterSeconds."""

    code = "RATE_LIMITED"


class QueryTooComplex(AibtError):
    """The document is too deep, too wide, too costly or too large to execute; extensions say which limit."""

    code = "QUERY_TOO_COMPLEX"


class Unavailable(AibtError):
    """A backing service (database, Redis) cannot be reached right now; retrying later may work."""

    code = "UNAVAILABLE"


class UnreadableEvent(AibtError):
    """An event on a run's or conversation's stream breaks the event contract (tasks/event_contract.py), e.g.
    one published by a release this one cannot read. The subscription ends after the events before it."""

    code = "INTERNAL"


def not_found(kind: str, identifier: object) -> NotFound:
    return NotFound(f"No {kind} with id {identifier!s}.")
