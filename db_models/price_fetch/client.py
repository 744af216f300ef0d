"""Alpha Vantage's query API over HTTP: one paced GET per call, its notes and errors turned into exceptions.

Alpha Vantage answers everything with HTTP 200. A body holding only "Note" or "Information" is a refusal:
a throttle (wait and ask again), the daily quota (stop), or a premium-only function or parameter. A body
with "Error Message" is a bad call: an unknown symbol, or a missing or invalid key. With datatype=csv the
data comes as CSV but these refusals still come as JSON.

The key travels in the query string, so every text that can leave this module (exception messages, the
provider's own words, which sometimes quote the key, and httpx's request log lines) is redacted first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from db_models.price_fetch.errors import DailyLimitReached, FetchStopped, MissingApiKey, PremiumRequired, SymbolFailed
from db_models.settings import Settings

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
REQUEST_TIMEOUT_SECONDS = 60.0
THROTTLE_RETRIES = 4  # waits after a per-minute note before taking it as the daily quota
TRANSPORT_RETRIES = 3  # attempts after a connection error or a 5xx before giving up on the provider
NoteKind = Literal["throttle", "daily", "premium", "key", "other"]


@dataclass(frozen=True)
class ClientConfig:
    api_key: str = field(repr=False)
    url: str
    calls_per_minute: float
    throttle_wait_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientConfig:
        if not settings.alphavantage_api_key:
            raise MissingApiKey()
        return cls(
            api_key=settings.alphavantage_api_key,
            url=settings.alphavantage_url,
            calls_per_minute=settings.alphavantage_calls_per_minute,
            throttle_wait_seconds=settings.alphavantage_throttle_wait_seconds,
        )


def redact(text: str, secret: str) -> str:
    return text.replace(secret, REDACTED) if secret else text


class _RedactSecret(logging.Filter):
    """Rewrites log records of the HTTP libraries so the key in a logged URL never reaches a handler."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = redact(message, self.secret), None
        return True


_HTTP_LOGGERS = ("httpx", "httpcore")
_NOTE_KEYS = ("Note", "Information")


def classify_note(text: str) -> NoteKind:
    """What a "Note" or "Information" body means; the provider words it differently over the years."""
    lower = text.lower()
    if any(word in lower for word in ("per second", "sparingly", "per minute", "call frequency", "burst")):
        return "throttle"
    if "rate limit" in lower or "requests per day" in lower or "calls per day" in lower:
        return "daily"
    if "premium" in lower:
        return "premium"
    if "api key" in lower or "apikey" in lower:
        return "key"
    return "other"


class _Pacer:
    """Spaces the calls of one key evenly: at most `calls_per_minute`, shared by every fetch in the process."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._next_at = 0.0

    async def wait_turn(self, calls_per_minute: float) -> None:
        async with self._lock:
            delay = self._next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next_at = time.monotonic() + 60.0 / max(calls_per_minute, 0.001)


_pacers: dict[tuple[str, str], _Pacer] = {}


def _pacer_for(config: ClientConfig) -> _Pacer:
    return _pacers.setdefault((config.url, config.api_key), _Pacer())


@dataclass(frozen=True)
class Answer:
    """A body with data: the JSON object, or the CSV text."""

    json: dict[str, Any] | None = None
    csv: str | None = None


class AlphaVantageClient:
    """`async with AlphaVantageClient(config) as client: await client.query({...})`."""

    def __init__(self, config: ClientConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.requests = 0
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._log_filter = _RedactSecret(config.api_key)

    async def __aenter__(self) -> AlphaVantageClient:
        for name in _HTTP_LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)
        self._http = httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS, transport=self._transport)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.aclose()
        for name in _HTTP_LOGGERS:
            logging.getLogger(name).removeFilter(self._log_filter)

    def redact(self, text: str) -> str:
        return redact(text, self.config.api_key)

    async def query(self, params: Mapping[str, str]) -> Answer:
        """One call, retried through throttles and transient failures; raises SymbolFailed, PremiumRequired,
        DailyLimitReached or FetchStopped with the provider's words (redacted)."""
        throttled = 0
        while True:
            body = await self._get(params)
            refusal = self._refusal(body)
            if refusal is None:
                return body
            kind, words = refusal
            if kind != "throttle":
                raise self._refusal_error(kind, words, params)
            throttled += 1
            if throttled > THROTTLE_RETRIES:
                raise DailyLimitReached(
                    f"Alpha Vantage still refuses after {THROTTLE_RETRIES} waits of "
                    f"{self.config.throttle_wait_seconds:g} s, so its daily limit is taken as reached: {words}"
                )
            wait = self.config.throttle_wait_seconds
            log.info("Alpha Vantage throttled the request; waiting %.1f s: %s", wait, words)
            await asyncio.sleep(self.config.throttle_wait_seconds)

    async def _get(self, params: Mapping[str, str]) -> Answer:
        assert self._http is not None, "use the client inside `async with`"
        query = {**params, "apikey": self.config.api_key}
        for attempt in range(1, TRANSPORT_RETRIES + 1):
            await _pacer_for(self.config).wait_turn(self.config.calls_per_minute)
            self.requests += 1
            try:
                response = await self._http.get(self.config.url, params=query)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {self.redact(str(exc)) or 'no detail'}"
            else:
                if response.status_code < 500 and response.status_code != 429:
                    return self._answer(response)
                problem = f"HTTP {response.status_code}"
            if attempt < TRANSPORT_RETRIES:
                await asyncio.sleep(min(self.config.throttle_wait_seconds, 2.0**attempt))
        raise FetchStopped(f"Alpha Vantage cannot be reached ({problem}) after {TRANSPORT_RETRIES} attempts.")

    def _answer(self, response: httpx.Response) -> Answer:
        if response.status_code != 200:
            raise FetchStopped(f"Alpha Vantage answered HTTP {response.status_code}.")
        text = response.text
        if text.lstrip().startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                raise FetchStopped("Alpha Vantage answered a body that is neither JSON nor CSV.") from None
            if not isinstance(data, dict):
                raise FetchStopped("Alpha Vantage answered JSON that is not an object.")
            return Answer(json=data)
        return Answer(csv=text)

    def _refusal(self, answer: Answer) -> tuple[NoteKind | Literal["error"], str] | None:
        data = answer.json
        if data is None:
            return None
        if "Error Message" in data:
            return "error", self.redact(str(data["Error Message"]))
        notes = [str(data[k]) for k in _NOTE_KEYS if k in data]
        if notes and set(data) <= set(_NOTE_KEYS):  # a note beside real data is not a refusal
            words = self.redact(" ".join(notes))
            return classify_note(words), words
        return None

    def _refusal_error(self, kind: str, words: str, params: Mapping[str, str]) -> Exception:
        function = params.get("function", "?")
        if kind == "error":
            lower = words.lower()
            if "apikey" in lower or "api key" in lower:
                return FetchStopped(f"Alpha Vantage refused the key: {words}")
            return SymbolFailed(words)
        if kind == "daily":
            return DailyLimitReached(f"Alpha Vantage's daily request limit is reached: {words}")
        if kind == "premium":
            return PremiumRequired(f"{function} with these parameters needs a premium Alpha Vantage key: {words}")
        if kind == "key":
            return FetchStopped(f"Alpha Vantage refused the key: {words}")
        return SymbolFailed(f"Alpha Vantage answered no data for {function}: {words}")
