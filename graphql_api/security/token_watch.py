"""Ends websocket streams whose token is revoked, outdated by a password change, or whose user is deleted,
with one database read per interval for the whole process rather than one per subscription.

Every stream registers its token while it runs. The watch ends a token's streams when it expires (one timer
per token), and every ws_auth_recheck_seconds it asks the database, in two queries whatever the number of
streams, which of the registered tokens have been revoked, which of their users are gone or have changed
their password since, and ends those streams. When the database cannot
be reached the streams go on and the next check decides: a logout is written to that same database, so
nothing can be revoked unseen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from db_models.accounts import RevokedToken, User
from graphql_api.auth import PASSWORD_CHANGED, TokenClaims
from graphql_api.errors import Unauthenticated

logger = logging.getLogger("aibt.security")

POLL_SECONDS = 0.25  # how often the watch looks at the (live, changeable) interval


@dataclass
class WatchedToken:
    """One token in use by one or more streams; `ended` is set once it may no longer be used."""

    user_id: int
    token_version: int = 0
    streams: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    reason: Unauthenticated | None = None
    # Fed subscriptions (graphql_api/live_feeds.py) wait on one future each, ended from here.
    callbacks: list[Callable[[Unauthenticated], None]] = field(default_factory=list)
    expiry: asyncio.TimerHandle | None = None  # one timer per token, not one per stream

    def end(self, reason: Unauthenticated) -> None:
        if self.reason is not None:  # the first reason stands (a later check finds it revoked again)
            return
        self.reason = reason
        self.ended.set()
        for callback in list(self.callbacks):
            callback(reason)

    def on_end(self, callback: Callable[[Unauthenticated], None]) -> Callable[[], None]:
        """Calls back when the token ends (at once if it has); returns what stops the callback."""
        if self.reason is not None:
            callback(self.reason)
            return lambda: None
        self.callbacks.append(callback)
        return lambda: self.callbacks.remove(callback)

    def raise_if_ended(self) -> None:
        if self.reason is not None:
            raise self.reason


class TokenWatch:
    def __init__(self, interval: Callable[[], float]) -> None:
        self._interval = interval  # read on every poll: the security config can change while running
        self._tokens: dict[str, WatchedToken] = {}
        self._task: asyncio.Task | None = None

    @contextmanager
    def watching(self, claims: TokenClaims) -> Iterator[WatchedToken]:
        """Registers a stream's token for as long as the block runs."""
        token = self.watch(claims)
        try:
            yield token
        finally:
            self.unwatch(claims, token)

    def watch(self, claims: TokenClaims) -> WatchedToken:
        """Registers a stream's token until unwatch: for a stream that outlives any one block (a fed one)."""
        token = self._tokens.get(claims.jti)
        if token is None:
            token = self._tokens[claims.jti] = WatchedToken(user_id=claims.user_id, token_version=claims.token_version)
            expires_in = max(0.0, (claims.expires_at - datetime.now(UTC)).total_seconds())
            expired = Unauthenticated("The token has expired; log in again.")
            token.expiry = asyncio.get_running_loop().call_later(expires_in, token.end, expired)
        token.streams += 1
        self._ensure_running()
        return token

    def unwatch(self, claims: TokenClaims, token: WatchedToken) -> None:
        token.streams -= 1
        if token.streams == 0 and self._tokens.get(claims.jti) is token:
            del self._tokens[claims.jti]
            if token.expiry is not None:
                token.expiry.cancel()

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="token-watch")

    async def _run(self) -> None:
        last_check = time.monotonic()
        while self._tokens:
            await asyncio.sleep(min(POLL_SECONDS, self._interval()))
            if time.monotonic() - last_check < self._interval():
                continue
            last_check = time.monotonic()
            try:
                await self.check()
            except Exception as exc:  # the database is down or failing: keep the streams, try next time
                logger.warning("could not re-check the tokens of %d streams: %r", len(self._tokens), exc)

    async def check(self) -> None:
        """Ends the streams of every revoked or outdated token and of every deleted user, in two queries."""
        tokens = dict(self._tokens)
        if not tokens:
            return
        revoked = set(await RevokedToken.filter(jti__in=list(tokens)).values_list("jti", flat=True))
        user_ids = {token.user_id for token in tokens.values()}
        versions = dict(await User.filter(id__in=list(user_ids)).values_list("id", "token_version"))
        for jti, token in tokens.items():
            if jti in revoked:
                token.end(Unauthenticated("The token has been revoked; log in again."))
            elif token.user_id not in versions:
                token.end(Unauthenticated("The token's user no longer exists."))
            elif versions[token.user_id] != token.token_version:
                token.end(Unauthenticated(PASSWORD_CHANGED))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
