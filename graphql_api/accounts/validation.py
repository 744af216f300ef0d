"""Rules for emails, passwords and display names."""

import re

from graphql_api.errors import BadUserInput

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256
MAX_DISPLAY_NAME = 100


def clean_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise BadUserInput("email is not a valid email address.", field="email")
    return value


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise BadUserInput(f"password must be at least {MIN_PASSWORD} characters.", field="password")
    if len(password) > MAX_PASSWORD:
        raise BadUserInput(f"password must be at most {MAX_PASSWORD} characters.", field="password")
    return password


def clean_display_name(name: str | None) -> str | None:
    if name is None:
        return None
    value = name.strip()
    if not value:
        return None
    if len(value) > MAX_DISPLAY_NAME or any(ord(c) < 32 for c in value):
        raise BadUserInput(f"displayName must be at most {MAX_DISPLAY_NAME} printable characters.", field="displayName")
    return value
