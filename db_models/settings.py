"""Settings read from the environment, shared by the API, the workers and the tool servers."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
ALPHAVANTAGE_URL = "https://www.alphavantage.co/query"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None
    # Prefix of every Redis key and channel AIBT uses, so deployments (and test sessions) can share a server.
    redis_prefix: str
    env: str
    host: str
    port: int
    jwt_secret: str
    jwt_issuer: str
    token_ttl_seconds: int
    approved_users_file: Path | None
    openai_api_key: str | None
    openai_api_base: str
    jina_api_key: str | None
    # Embedded mode starts the MCP tool servers inside the API process unless AIBT_START_TOOLS=0.
    start_tools: bool = True
    # Embedded mode loads the shipped price data on start (once) unless AIBT_SEED_PRICES=0.
    seed_prices: bool = True
    # A RUNNING run whose worker has not shown life for this long is taken as orphaned and resumed.
    run_stale_seconds: float = 60.0
    # Attempts a run gets (its first included) before a lost worker fails it for good.
    max_run_attempts: int = 3
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed ("*" for any); none by default, so a
    # client's address is the connecting one and per-address limits cannot be dodged with a header.
    forwarded_allow_ips: tuple[str, ...] = ()
    # The request line and headers of one HTTP request, at most (the server refuses more).
    max_header_bytes: int = 16 * 1024
    # /metrics answers only to "Authorization: Bearer <token>" when set.
    metrics_token: str | None = field(default=None, repr=False)
    # When set, the API's metrics are served on this port (of metrics_host) instead of at /metrics.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # Alpha Vantage, for `aibt data fetch` and fetchPrices. The key never appears in a repr, a log line or a response.
    alphavantage_api_key: str | None = field(default=None, repr=False)
    alphavantage_url: str = ALPHAVANTAGE_URL
    alphavantage_calls_per_minute: float = 5.0
    # How long to wait after a per-minute throttle note before asking again.
    alphavantage_throttle_wait_seconds: float = 60.0
    # A premium key: daily bars from TIME_SERIES_DAILY_ADJUSTED, whose columns carry the splits and dividends.
    alphavantage_adjusted: bool = False

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_embedded(self) -> bool:
        """Embedded mode: no Redis, so the broker, worker and pub/sub live in this process."""
        return self.redis_url is None


def _jwt_secret(data_dir: Path) -> str:
    """AIBT_JWT_SECRET, else a secret generated once and kept in the data dir."""
    configured = os.environ.get("AIBT_JWT_SECRET")
    if configured:
        return configured
    path = data_dir / "jwt_secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Open exclusively so two processes starting together keep one secret.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _default_database_url(data_dir: Path) -> str:
    return f"sqlite://{(data_dir / 'aibt.sqlite3').resolve()}"


def _list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() not in ("0", "false", "no", "off")


def load_settings() -> Settings:
    data_dir = Path(os.environ.get("AIBT_DATA_DIR", ".aibt"))
    data_dir.mkdir(parents=True, exist_ok=True)
    approved = os.environ.get("AIBT_APPROVED_USERS")
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL") or _default_database_url(data_dir),
        redis_url=os.environ.get("REDIS_URL") or None,
        redis_prefix=os.environ.get("AIBT_REDIS_PREFIX", "aibt:"),
        env=os.environ.get("AIBT_ENV", "development"),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8080")),
        jwt_secret=_jwt_secret(data_dir),
        jwt_issuer=os.environ.get("AIBT_JWT_ISSUER", "aibt"),
        token_ttl_seconds=int(os.environ.get("AIBT_TOKEN_TTL_SECONDS", str(24 * 3600))),
        approved_users_file=Path(approved) if approved else None,
        openai_api_key=os.environ.get("OPENAI_API_KEY") or None,
        openai_api_base=os.environ.get("OPENAI_API_BASE") or OPENROUTER_BASE_URL,
        jina_api_key=os.environ.get("JINA_API_KEY") or None,
        start_tools=_flag("AIBT_START_TOOLS", "1"),
        seed_prices=_flag("AIBT_SEED_PRICES", "1"),
        run_stale_seconds=float(os.environ.get("AIBT_RUN_STALE_SECONDS", "60")),
        max_run_attempts=int(os.environ.get("AIBT_MAX_RUN_ATTEMPTS", "3")),
        forwarded_allow_ips=_list(os.environ.get("AIBT_FORWARDED_ALLOW_IPS", "")),
        max_header_bytes=int(os.environ.get("AIBT_MAX_HEADER_BYTES", str(16 * 1024))),
        metrics_token=os.environ.get("AIBT_METRICS_TOKEN") or None,
        metrics_port=int(os.environ["AIBT_METRICS_PORT"]) if os.environ.get("AIBT_METRICS_PORT") else None,
        metrics_host=os.environ.get("AIBT_METRICS_HOST", "127.0.0.1"),
        alphavantage_api_key=os.environ.get("ALPHAVANTAGE_API_KEY", "").strip() or None,
        alphavantage_url=os.environ.get("AIBT_ALPHAVANTAGE_URL") or ALPHAVANTAGE_URL,
        alphavantage_calls_per_minute=float(os.environ.get("AIBT_ALPHAVANTAGE_CALLS_PER_MINUTE", "5")),
        alphavantage_throttle_wait_seconds=float(os.environ.get("AIBT_ALPHAVANTAGE_THROTTLE_WAIT_SECONDS", "60")),
        alphavantage_adjusted=_flag("AIBT_ALPHAVANTAGE_ADJUSTED", "0"),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
