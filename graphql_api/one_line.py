"""Names and titles users type (display names, trading model names, conversation titles, arena names): one
cleaning rule for all of them, refusing with BAD_USER_INPUT beside the field what would not show as typed."""

from __future__ import annotations

import re

from db_models.display_text import shows_as_one_line
from graphql_api.errors import BadUserInput

_SPACES = re.compile(r"\s+")


def clean_optional_line(value: str | None, *, field: str, limit: int) -> str | None:
    """The text without surrounding spaces and with each run of inner spaces made one; None when nothing is left.
    BAD_USER_INPUT naming `field` when it is longer than `limit` or does not show as one line (a control or
    separator character, one that reorders the text, nothing visible)."""
    text = (value or "").strip()
    if not text:
        return None
    # Checked before the spaces are joined: a line separator or a tab is refused, not turned into a space.
    joined = _SPACES.sub(" ", text) if shows_as_one_line(text) else None
    if joined is None or len(joined) > limit:
        raise BadUserInput(
            f"{field} must be one line of at most {limit:,} printable characters, at least one visible.", field=field
        )
    return joined


def clean_line(value: str | None, *, field: str, limit: int) -> str:
    """As clean_optional_line, for a field that may not be empty."""
    text = clean_optional_line(value, field=field, limit=limit)
    if text is None:
        raise BadUserInput(f"{field} must not be empty.", field=field)
    return text
