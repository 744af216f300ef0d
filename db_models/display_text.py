"""Text other people see as a name or a title: one line, printable, in the order it was typed, with something
visible in it, so that what they see is what its author typed. The API refuses any other (graphql_api/one_line.py);
titles a language model writes are held to it too."""

from __future__ import annotations

import unicodedata

# Characters that reorder the text around them: a name holding one can show as another (e.g. "nimda").
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Control characters (C0 with the tab, DEL, C1 such as NEL) and line or paragraph separators break a name onto
# new lines or show as nothing.
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def shows_as_one_line(text: str) -> bool:
    """Printable, one line, no reordering, and at least one visible character (not only spaces or zero-width
    ones, which may still join the visible ones, as in emoji sequences)."""
    categories = [unicodedata.category(c) for c in text]
    if any(c in _UNPRINTABLE_CATEGORIES for c in categories) or not BIDI_CONTROLS.isdisjoint(text):
        return False
    return any(c[0] not in "ZC" for c in categories)
