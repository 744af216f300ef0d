"""Changing the running app's security limits for one test, and putting them back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest_asyncio


@pytest_asyncio.fixture
async def limits(app) -> AsyncIterator[Callable[..., None]]:
    """limits(max_aliases=3, ...) sets fields of the app's SecurityConfig until the test ends; rate
    counters start and end empty."""
    security = app.state.security
    saved: dict[str, object] = {}
    saved_rules = dict(security.config.rate_limits)

    def change(**fields: object) -> None:
        for name, value in fields.items():
            saved.setdefault(name, getattr(security.config, name))
            setattr(security.config, name, value)

    await security.limiter.store.reset()
    try:
        yield change
    finally:
        for name, value in saved.items():
            setattr(security.config, name, value)
        security.config.rate_limits.clear()
        security.config.rate_limits.update(saved_rules)
        await security.limiter.store.reset()
