"""Rules for emails, passwords and display names."""

import re
from urllib.parse import urlsplit

from graphql_api.errors import BadUserInput
from graphql_api.one_line import clean_optional_line

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
MAX_EMAIL = 254  # the users.email column, and RFC 5321's longest address
MIN_PASSWORD = 8
MAX_PASSWORD = 256
MAX_DISPLAY_NAME = 100
MAX_AVATAR_URL = 500


def clean_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > MAX_EMAIL or not _EMAIL.match(value):
        raise BadUserInput("email is not a valid email address.", field="email")
    return value


def check_password(password: str, field: str = "password") -> str:
    if len(password) < MIN_PASSWORD:
        raise BadUserInput(f"{field} must be at least {MIN_PASSWORD} characters.", field=field)
    if len(password) > MAX_PASSWORD:
        raise BadUserInput(f"{field} must be at most {MAX_PASSWORD} characters.", field=field)
    return password


def clean_display_name(name: str | None) -> str | None:
    return clean_optional_line(name, field="displayName", limit=MAX_DISPLAY_NAME)


def clean_avatar_url(url: str | None) -> str | None:
    """An absolute http(s) URL of an image, or None to clear it; nothing a browser could run or resolve locally."""
    if url is None or not url.strip():
        return None
    value = url.strip()
    problem = f"avatarUrl must be an absolute http or https URL of at most {MAX_AVATAR_URL} characters."
    if len(value) > MAX_AVATAR_URL or any(ord(c) <= 32 or ord(c) == 127 for c in value):
        raise BadUserInput(problem, field="avatarUrl")
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:
        raise BadUserInput(problem, field="avatarUrl") from None
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        raise BadUserInput(problem, field="avatarUrl")
    if parts.username is not None or parts.password is not None:
        raise BadUserInput("avatarUrl must not carry a user name or password.", field="avatarUrl")
    return value
