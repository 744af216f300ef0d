"""What can stop a fetch: each class says when it is raised and how far it reaches."""

from __future__ import annotations


class FetchError(Exception):
    """Base of every fetch error; the message is meant for the user and never holds the API key."""


class MissingApiKey(FetchError):
    """ALPHAVANTAGE_API_KEY is not set: raised before any request is made."""

    def __init__(self) -> None:
        super().__init__(
            "ALPHAVANTAGE_API_KEY is not set: get a free key at https://www.alphavantage.co/support/#api-key "
            "and export it (the key stays in the server's environment)."
        )


class SymbolFailed(FetchError):
    """This symbol cannot be fetched (an unknown symbol, a body that is not a price series, a bad bar).
    The symbol writes nothing; the other symbols go on."""


class PremiumRequired(SymbolFailed):
    """The provider answered that this function or parameter needs a premium key."""


class FetchStopped(FetchError):
    """Nothing more can be fetched now (the daily request limit, a refused key, an unreachable provider).
    The symbol in progress writes nothing; symbols already written stay; the rest are not asked."""


class FetchCancelled(FetchStopped):
    """The fetch was asked to stop (an admin cancelled its job): raised before the next call, or before the
    symbol in progress would be written, so that symbol writes nothing, as one that fails."""

    def __init__(self) -> None:
        super().__init__("Cancelled by an admin.")


class DailyLimitReached(FetchStopped):
    """The provider's daily request quota is used up (or its throttle did not clear after the retries)."""
