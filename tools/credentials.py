"""Run credentials: a signed token naming one run, sent by the worker with every tool call.

The worker's MCP sessions are shared by all the runs of its process, so the credential travels in each
call's `_meta` (META_KEY) rather than on the connection; other clients may send it as a header (HEADER)
on theirs. The LLM never sees it, so a model cannot name another run; the tool servers take the run, and
with it the simulated clock, from this token alone.
"""

from __future__ import annotations

import functools
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt

from db_models.settings import Settings

HEADER = "X-AIBT-Run-Credential"
META_KEY = "aibt/run-credential"
AUDIENCE = "aibt-tools"
DEFAULT_TTL = timedelta(days=3)


class CredentialError(Exception):
    """The run credential is missing, malformed, forged, expired or for another audience."""


def issue_run_credential(settings: Settings, run_id: int, ttl: timedelta = DEFAULT_TTL) -> str:
    now = datetime.now(UTC)
    claims = {
        "run": run_id,
        "iat": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "iss": settings.jwt_issuer,
        "aud": AUDIENCE,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def verify_run_credential(settings: Settings, token: str | None) -> int:
    """The run id a credential names."""
    if not token:
        raise CredentialError("This tool needs a run credential; none was sent.")
    try:
        run_id, expires = _verified_claims(settings.jwt_secret, settings.jwt_issuer, token)
    except jwt.InvalidTokenError as exc:
        raise CredentialError(f"The run credential is not valid ({exc}).") from None
    if time.time() >= expires:  # a cached credential still expires on time
        raise CredentialError("The run credential is not valid (Signature has expired).")
    return run_id


@functools.lru_cache(maxsize=4096)
def _verified_claims(secret: str, issuer: str, token: str) -> tuple[int, float]:
    """(run id, expiry) of a credential whose signature and claims check out. A run sends the same credential
    with every tool call, so each is verified once per process; a bad one raises and is not cached."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        audience=AUDIENCE,
        issuer=issuer,
        options={"require": ["run", "exp", "iat", "aud", "iss"]},
    )
    run_id = claims["run"]
    if not isinstance(run_id, int) or isinstance(run_id, bool):
        raise jwt.InvalidTokenError("its run is not a run id")
    return run_id, float(claims["exp"])
