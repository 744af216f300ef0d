"""Security limits, read from the environment once per app; tests may change them on the running app."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from strawberry.http.websocket_origin import normalize_allowed_origins

from db_models.settings import Settings

_OFF = ("0", "off", "false", "no", "none")


@dataclass(frozen=True)
class RateRule:
    """At most `count` requests per `seconds`-long window."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> RateRule | None:
        """ "30/60" means 30 per 60 seconds; "off" or "0" disables the rule."""
        text = text.strip().lower()
        if text in _OFF:
            return None
        count, _, seconds = text.partition("/")
        try:
            rule = cls(int(count), float(seconds or "60"))
        except ValueError:
            raise ValueError(
                f'A rate limit must look like "30/60" (30 per 60 seconds) or "off"; got {text!r}.'
            ) from None
        if rule.count < 1 or rule.seconds <= 0:
            raise ValueError(f"A rate limit needs a count >= 1 and a window > 0 seconds; got {text!r}.")
        return rule


# (action, scope) -> (environment variable, default). Scope "ip" counts per client address, "user" per
# signed-in user, "email" per email address tried (login). "query_cost" counts points, not requests.
RATE_RULES: dict[tuple[str, str], tuple[str, str]] = {
    ("login", "ip"): ("AIBT_RATE_LIMIT_LOGIN_IP", "60/60"),
    ("login", "email"): ("AIBT_RATE_LIMIT_LOGIN_EMAIL", "30/300"),
    ("signup", "ip"): ("AIBT_RATE_LIMIT_SIGNUP_IP", "20/3600"),
    ("start_run", "user"): ("AIBT_RATE_LIMIT_START_RUN_USER", "30/600"),
    ("start_run", "ip"): ("AIBT_RATE_LIMIT_START_RUN_IP", "120/600"),
    ("send_message", "user"): ("AIBT_RATE_LIMIT_SEND_MESSAGE_USER", "30/60"),
    ("send_message", "ip"): ("AIBT_RATE_LIMIT_SEND_MESSAGE_IP", "120/60"),
    # Points of estimated query cost (query_cost.py) per address: ten of the costliest queries a minute.
    ("query_cost", "ip"): ("AIBT_RATE_LIMIT_QUERY_COST_IP", "100000/60"),
}


def parse_origins(text: str) -> frozenset[str]:
    """A comma-separated list of origins (`https://app.example.com`, or `*` for any) in the form browsers
    send them; a value that is not an origin is refused, naming AIBT_CORS_ORIGINS."""
    try:
        return normalize_allowed_origins([part.strip() for part in text.split(",") if part.strip()])
    except ValueError as error:
        raise ValueError(f"AIBT_CORS_ORIGINS: {error}") from None


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in _OFF


@dataclass
class SecurityConfig:
    # Query limits (QUERY_TOO_COMPLEX)
    max_query_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_query_bytes: int = 32 * 1024  # the GraphQL document text
    max_request_bytes: int = 1024 * 1024  # a whole HTTP body or websocket message, variables included
    max_fields: int = 500  # field selections of a document, fragments counted where they are spread
    max_field_repeats: int = 10  # selections merged into one place of the response
    max_query_cost: int = 10_000  # objects a response may hold, estimated before execution
    max_response_bytes: int = 8 * 1024 * 1024  # the serialized response
    max_json_depth: int = 32  # nesting of the request's JSON (variables)
    request_timeout_seconds: float = 30.0  # for a request's line, headers and body to arrive (aibt serve)
    introspection: bool = True
    suggestions: bool = True  # "Did you mean ...?" in validation errors: off wherever introspection is off
    # Browser pages on these other origins may call the API (HTTP and websockets); "*" allows any.
    cors_origins: frozenset[str] = frozenset()
    # Websockets
    ws_init_timeout_seconds: float = 10.0
    ws_max_subscriptions: int = 20
    ws_auth_recheck_seconds: float = 5.0
    ws_max_init_bytes: int = 4 * 1024  # the connection_init payload
    ws_max_connections_per_user: int = 10
    ws_max_connections_per_address: int = 50
    # Metrics: distinct operation names that get their own label; later ones share "other"
    metrics_max_operation_names: int = 200
    # Rate limits: (action, scope) -> rule, None when off
    rate_limits: dict[tuple[str, str], RateRule | None] = field(default_factory=dict)
    # Failed logins per email: this many are free, then each one locks the email out for
    # base * 2**(extra failures - 1) seconds, at most max; failures are forgotten after the window.
    login_free_failures: int = 5
    login_lockout_base_seconds: float = 2.0
    login_lockout_max_seconds: float = 900.0
    login_failure_window_seconds: float = 3600.0


def load_security_config(settings: Settings) -> SecurityConfig:
    introspection = _flag("AIBT_INTROSPECTION", not settings.is_production)
    return SecurityConfig(
        max_query_depth=_int("AIBT_MAX_QUERY_DEPTH", 12),
        max_aliases=_int("AIBT_MAX_ALIASES", 30),
        max_tokens=_int("AIBT_MAX_TOKENS", 5_000),
        max_query_bytes=_int("AIBT_MAX_QUERY_BYTES", 32 * 1024),
        max_request_bytes=_int("AIBT_MAX_REQUEST_BYTES", 1024 * 1024),
        max_fields=_int("AIBT_MAX_FIELDS", 500),
        max_field_repeats=_int("AIBT_MAX_FIELD_REPEATS", 10),
        max_query_cost=_int("AIBT_MAX_QUERY_COST", 10_000),
        max_response_bytes=_int("AIBT_MAX_RESPONSE_BYTES", 8 * 1024 * 1024),
        max_json_depth=_int("AIBT_MAX_JSON_DEPTH", 32),
        request_timeout_seconds=_float("AIBT_REQUEST_TIMEOUT_SECONDS", 30.0),
        introspection=introspection,
        suggestions=_flag("AIBT_SUGGESTIONS", introspection),
        cors_origins=parse_origins(os.environ.get("AIBT_CORS_ORIGINS", "")),
        ws_init_timeout_seconds=_float("AIBT_WS_INIT_TIMEOUT_SECONDS", 10.0),
        ws_max_subscriptions=_int("AIBT_WS_MAX_SUBSCRIPTIONS", 20),
        ws_auth_recheck_seconds=_float("AIBT_WS_AUTH_RECHECK_SECONDS", 5.0),
        ws_max_init_bytes=_int("AIBT_WS_MAX_INIT_BYTES", 4 * 1024),
        ws_max_connections_per_user=_int("AIBT_WS_MAX_CONNECTIONS_PER_USER", 10),
        ws_max_connections_per_address=_int("AIBT_WS_MAX_CONNECTIONS_PER_ADDRESS", 50),
        metrics_max_operation_names=_int("AIBT_METRICS_MAX_OPERATION_NAMES", 200),
        rate_limits={key: RateRule.parse(os.environ.get(env, default)) for key, (env, default) in RATE_RULES.items()},
        login_free_failures=_int("AIBT_LOGIN_FREE_FAILURES", 5),
        login_lockout_base_seconds=_float("AIBT_LOGIN_LOCKOUT_BASE_SECONDS", 2.0),
        login_lockout_max_seconds=_float("AIBT_LOGIN_LOCKOUT_MAX_SECONDS", 900.0),
        login_failure_window_seconds=_float("AIBT_LOGIN_FAILURE_WINDOW_SECONDS", 3600.0),
    )
