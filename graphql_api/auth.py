"""Passwords (argon2), tokens (JWT HS256 with exp, iat, jti, iss) and who may sign up."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.expressions import Subquery

from db_models.accounts import RevokedToken, Role, User
from db_models.settings import Settings
from graphql_api.errors import Forbidden, Unauthenticated

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
_REQUIRED_CLAIMS = ["exp", "iat", "jti", "iss", "sub"]
PASSWORD_CHANGED = "The password was changed since this token was issued; log in again."
# Argon2 takes most of a second of CPU by design: it runs on these threads (it releases the GIL), never on
# the event loop, and at most this many at once, so a burst of logins queues instead of stalling requests.
_PASSWORD_WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")
# What the server itself puts in a token; anything else signed with the key is refused before it is used.
_SUBJECT = re.compile(r"[1-9][0-9]{0,17}")  # a user id that fits a BIGINT
_TOKEN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # fits revoked_tokens.jti
_LATEST_EXPIRY = datetime(9000, 1, 1, tzinfo=UTC).timestamp()
_MAX_TOKEN_VERSION = 2**31 - 1  # fits users.token_version


def _hash(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_PASSWORD_WORKERS, _hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_PASSWORD_WORKERS, _verify, password_hash, password)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    jti: str
    expires_at: datetime
    token_version: int = 0  # the user's token_version when it was issued (tokens without the claim: 0)


def issue_token(settings: Settings, user_id: int, token_version: int = 0) -> IssuedToken:
    now = datetime.now(UTC).replace(microsecond=0)
    expires_at = now + timedelta(seconds=settings.token_ttl_seconds)
    jti = uuid.uuid4().hex
    claims = {"sub": str(user_id), "iat": now, "exp": expires_at, "jti": jti, "iss": settings.jwt_issuer}
    if token_version:
        claims["ver"] = token_version
    return IssuedToken(jwt.encode(claims, settings.jwt_secret, algorithm="HS256"), jti, expires_at)


def _is_timestamp(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < _LATEST_EXPIRY


def _checked_claims(claims: dict) -> TokenClaims:
    """The claims as the server issues them: a numeric subject, a short token id, numeric times."""
    subject, token_id, expiry = claims.get("sub"), claims.get("jti"), claims.get("exp")
    if not (isinstance(subject, str) and _SUBJECT.fullmatch(subject)):
        raise Unauthenticated("The token is not valid.")
    if not (isinstance(token_id, str) and _TOKEN_ID.fullmatch(token_id)):
        raise Unauthenticated("The token is not valid.")
    if not (_is_timestamp(expiry) and _is_timestamp(claims.get("iat"))):
        raise Unauthenticated("The token is not valid.")
    version = claims.get("ver", 0)  # absent from tokens issued before any password change
    if not (isinstance(version, int) and not isinstance(version, bool) and 0 <= version <= _MAX_TOKEN_VERSION):
        raise Unauthenticated("The token is not valid.")
    return TokenClaims(int(subject), token_id, datetime.fromtimestamp(expiry, UTC), version)


def decode_token(settings: Settings, token: str) -> TokenClaims:
    """Checks signature, algorithm, issuer, expiry and the claims' types and sizes; raises Unauthenticated
    with the reason."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=["HS256"],
            issuer=settings.jwt_issuer,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired; log in again.") from None
    except (jwt.InvalidTokenError, ValueError, TypeError, OverflowError):
        raise Unauthenticated("The token is not valid.") from None
    return _checked_claims(claims)


def bearer_token(header_value: str | None) -> str | None:
    if not header_value:
        return None
    scheme, _, token = header_value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated('Authorization must be "Bearer <token>".')
    return token.strip()


async def authenticate(settings: Settings, token: str) -> tuple[User, TokenClaims]:
    """The user a token belongs to, read from the database so the role is never the token's word."""
    claims = decode_token(settings, token)
    # One statement for the user and the token's revocation: every authenticated request pays for it.
    revocation = Subquery(RevokedToken.filter(jti=claims.jti).values("jti"))
    user = await User.filter(id=claims.user_id).annotate(revoked_jti=revocation).first()
    if user is None:  # a deleted user's revocations went with it
        raise Unauthenticated("The token's user no longer exists.")
    if user.revoked_jti is not None:
        raise Unauthenticated("The token has been revoked; log in again.")
    if claims.token_version != user.token_version:
        raise Unauthenticated(PASSWORD_CHANGED)
    return user, claims


async def revoke(claims: TokenClaims) -> None:
    await RevokedToken.get_or_create(
        jti=claims.jti, defaults={"user_id": claims.user_id, "expires_at": claims.expires_at}
    )


@dataclass(frozen=True)
class ApprovedUsers:
    admins: frozenset[str]
    users: frozenset[str]

    def role_for(self, email: str) -> Role:
        if email in self.admins:
            return Role.ADMIN
        if email in self.users:
            return Role.USER
        raise Forbidden("This email is not on the list of approved users.")


class ApprovedUsersError(ValueError):
    """The AIBT_APPROVED_USERS file is missing or not of the documented shape."""


def load_approved_users(path: Path | None) -> ApprovedUsers | None:
    """None means anyone may sign up (as USER)."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ApprovedUsersError(f"AIBT_APPROVED_USERS file {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise ApprovedUsersError('AIBT_APPROVED_USERS must hold {"admins": [...], "users": [...]}.')
    lists = {}
    for key in ("admins", "users"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
            raise ApprovedUsersError(f'AIBT_APPROVED_USERS "{key}" must be a list of emails.')
        lists[key] = frozenset(e.strip().lower() for e in value)
    return ApprovedUsers(admins=lists["admins"], users=lists["users"])
