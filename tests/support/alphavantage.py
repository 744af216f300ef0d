"""A local Alpha Vantage: its query endpoint over real HTTP, answering in its real shapes from real bars.

Serves, for the symbols of tests/data/prices (AAPL, AMZN, GOOGL, MSFT, NVDA), TIME_SERIES_DAILY (compact: the
newest 100 bars, full: all; 2025-06-10..2025-10-29), TIME_SERIES_DAILY_ADJUSTED (with premium_key),
TIME_SERIES_INTRADAY by month (60min, 2025-10-01..2025-11-10, 10:00..15:00), SPLITS and
DIVIDENDS, as JSON or (datatype=csv) CSV; and its refusals: an unknown symbol's "Error Message", an invalid
key, per-minute throttle notes, the daily quota (whose wording quotes the key, as the real one does), and
premium-only functions and parameters. Every request is recorded; a test can hold a symbol's answers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support.server import running_server

PRICES = Path(__file__).resolve().parents[1] / "data" / "prices"
API_KEY = "AVTESTKEY7Q2R9"

PER_MINUTE_NOTE = (
    "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per "
    "day. Please visit https://www.alphavantage.co/premium/ if you would like to target a higher API call frequency."
)
BURST_NOTE = (
    "Thank you for using Alpha Vantage! Please consider spreading out your free API requests more sparingly "
    "(1 request per second). You may subscribe to any of the premium plans at https://www.alphavantage.co/premium/ "
    "to lift the free key rate limit (25 requests per day) and instantly unlock all premium endpoints"
)
DAILY_LIMIT = (
    "We have detected your API key as {key} and our standard API rate limit is 25 requests per day. Please "
    "subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily "
    "rate limits."
)
PREMIUM_ENDPOINT = (
    "Thank you for using Alpha Vantage! This is a premium endpoint. You may subscribe to any of the premium plans "
    "at https://www.alphavantage.co/premium/ to instantly unlock all premium endpoints"
)
PREMIUM_FULL = (
    "Thank you for using Alpha Vantage! The **outputsize=full** parameter value is a premium feature for the "
    "TIME_SERIES_DAILY endpoint. You may subscribe to any of the premium plans at "
    "https://www.alphavantage.co/premium/ to instantly unlock all premium features"
)
INVALID_KEY = (
    "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
)
INVALID_CALL = (
    "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for {f}."
)
CSV_HEADER = "timestamp,open,high,low,close,volume"
# Splits (effective date, factor) and cash dividends (ex, declaration, record, payment date, amount) as listed
# by the companies; symbols the provider knows without any are listed empty.
SPLITS = {
    "AAPL": [["2020-08-31", "4.0000"], ["2014-06-09", "7.0000"]],
    "AMZN": [["2022-06-06", "20.0000"]],
    "GOOGL": [["2022-07-18", "20.0000"]],
    "MSFT": [],
    "NVDA": [["2024-06-10", "10.0000"], ["2021-07-20", "4.0000"]],
}
DIVIDENDS = {
    "AAPL": [
        ["2025-08-11", "2025-07-31", "2025-08-11", "2025-08-14", "0.26"],
        ["2025-05-12", "2025-05-01", "2025-05-12", "2025-05-15", "0.26"],
        ["2025-02-10", "2025-01-30", "2025-02-10", "2025-02-13", "0.25"],
    ],
    "AMZN": [],
    "GOOGL": [
        ["2025-09-08", "2025-07-23", "2025-09-08", "2025-09-15", "0.21"],
        ["2025-06-09", "2025-04-24", "2025-06-09", "2025-06-16", "0.21"],
        ["2025-03-10", "2025-02-04", "2025-03-10", "2025-03-17", "0.20"],
    ],
    "MSFT": [
        ["2025-08-21", "2025-06-10", "2025-08-21", "2025-09-11", "0.83"],
        ["2025-05-15", "2025-03-11", "2025-05-15", "2025-06-12", "0.83"],
        ["2025-02-20", "2024-12-03", "2025-02-20", "2025-03-13", "0.83"],
    ],
    "NVDA": [
        ["2025-09-11", "2025-08-27", "2025-09-11", "2025-10-02", "0.01"],
        ["2025-06-11", "2025-05-28", "2025-06-11", "2025-07-03", "0.01"],
        ["2025-03-12", "2025-02-26", "2025-03-12", "2025-04-02", "0.01"],
    ],
}


def _bars(file_name: str) -> dict[str, list[list[str]]]:
    """symbol -> [[time, open, high, low, close, volume], ...] oldest first, complete bars only."""
    bars = {}
    for line in (PRICES / file_name).read_text().splitlines():
        record = json.loads(line)
        (series,) = (value for key, value in record.items() if key.startswith("Time Series"))
        bars[record["Meta Data"]["2. Symbol"]] = [
            [stamp, f["1. buy price"], f["2. high"], f["3. low"], f["4. sell price"], f["5. volume"]]
            for stamp, f in sorted(series.items())
            if "4. sell price" in f
        ]
    return bars


DATA = {
    "daily": _bars("nasdaq100-daily-2025-06-10_2025-10-30.jsonl"),
    "60min": _bars("nasdaq100-hourly-2025-10-01_2025-11-10.jsonl"),
    "splits": SPLITS,
    "dividends": DIVIDENDS,
}
FIELD_NAMES = ("1. open", "2. high", "3. low", "4. close", "5. volume")


@dataclass
class StandIn:
    """The server's behaviour and what it saw; tests change the behaviour between requests."""

    url: str = ""
    api_key: str = API_KEY
    requests: list[dict[str, str]] = field(default_factory=list)
    premium_key: bool = False  # TIME_SERIES_DAILY_ADJUSTED and outputsize=full are premium
    full_is_premium: bool = False  # outputsize=full refused even for TIME_SERIES_DAILY (a free key today)
    throttle_next: int = 0  # answer this many requests with a per-minute note
    throttle_note: str = PER_MINUTE_NOTE
    daily_quota: int | None = None  # answered requests allowed before the daily limit; None: no limit
    errors: dict[tuple[str, str], str] = field(default_factory=dict)  # (function, symbol) -> its Error Message
    held: dict[str, asyncio.Event] = field(default_factory=dict)  # symbol -> answers wait for this event
    arrived: dict[str, asyncio.Event] = field(default_factory=dict)  # symbol -> set when its first request comes
    answered: int = 0

    def reset(self) -> None:
        self.requests.clear()
        self.premium_key = self.full_is_premium = False
        self.throttle_next, self.throttle_note, self.daily_quota, self.answered = 0, PER_MINUTE_NOTE, None, 0
        self.errors.clear()
        self.held.clear()
        self.arrived.clear()

    def asked(self, **match: str) -> list[dict[str, str]]:
        """The requests whose parameters include all of `match`."""
        return [r for r in self.requests if all(r.get(k) == v for k, v in match.items())]

    def hold(self, symbol: str) -> asyncio.Event:
        """Answers for `symbol` wait until the returned event is set; `arrived[symbol]` tells when one came."""
        self.held[symbol] = asyncio.Event()
        self.arrived[symbol] = asyncio.Event()
        return self.held[symbol]

    async def answer(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.requests.append(params)
        symbol = params.get("symbol", "").upper()
        if symbol in self.arrived:
            self.arrived[symbol].set()
        if symbol in self.held:
            await self.held[symbol].wait()
        if params.get("apikey") != self.api_key:
            return JSONResponse({"Error Message": INVALID_KEY})
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return JSONResponse({"Note": self.throttle_note})
        if self.daily_quota is not None and self.answered >= self.daily_quota:
            return JSONResponse({"Information": DAILY_LIMIT.format(key=self.api_key)})
        self.answered += 1
        return self._data(params, symbol)

    def _data(self, params: dict[str, str], symbol: str) -> Response:
        function = params.get("function", "")
        if (function, symbol) in self.errors:
            return JSONResponse({"Error Message": self.errors[function, symbol]})
        if function == "SPLITS":
            rows = DATA["splits"].get(symbol)
            return JSONResponse({} if rows is None else _splits(symbol, rows))
        if function == "DIVIDENDS":
            rows = DATA["dividends"].get(symbol)
            return JSONResponse({} if rows is None else _dividends(symbol, rows))
        if function in ("TIME_SERIES_DAILY", "TIME_SERIES_DAILY_ADJUSTED"):
            return self._daily(params, symbol, adjusted=function.endswith("ADJUSTED"))
        if function == "TIME_SERIES_INTRADAY":
            return _intraday(params, symbol)
        return JSONResponse({"Error Message": f"This API function ({function}) does not exist."})

    def _daily(self, params: dict[str, str], symbol: str, *, adjusted: bool) -> Response:
        function = params["function"]
        full = params.get("outputsize") == "full"
        if adjusted and not self.premium_key:
            return JSONResponse({"Information": PREMIUM_ENDPOINT})
        if full and self.full_is_premium and not self.premium_key:
            return JSONResponse({"Information": PREMIUM_FULL})
        rows = DATA["daily"].get(symbol)
        if rows is None:
            return JSONResponse({"Error Message": INVALID_CALL.format(f=function)})
        rows = rows if full else rows[-100:]
        newest_first = list(reversed(rows))
        if adjusted:
            return JSONResponse(_adjusted_series(symbol, newest_first, full))
        if params.get("datatype") == "csv":
            return _csv(newest_first)
        meta = {
            "1. Information": "Daily Prices (open, high, low, close) and Volumes",
            "2. Symbol": symbol,
            "3. Last Refreshed": newest_first[0][0],
            "4. Output Size": "Full size" if full else "Compact",
            "5. Time Zone": "US/Eastern",
        }
        series = {row[0]: dict(zip(FIELD_NAMES, row[1:], strict=True)) for row in newest_first}
        return JSONResponse({"Meta Data": meta, "Time Series (Daily)": series})


def _csv(rows: list[list[str]]) -> Response:
    lines = [CSV_HEADER, *(",".join(row) for row in rows)]
    return PlainTextResponse("\r\n".join(lines) + "\r\n", media_type="application/x-download")


def _intraday(params: dict[str, str], symbol: str) -> Response:
    interval, month = params.get("interval", ""), params.get("month", "")
    if symbol not in DATA["daily"] or interval not in ("1min", "5min", "15min", "30min", "60min"):
        return JSONResponse({"Error Message": INVALID_CALL.format(f="TIME_SERIES_INTRADAY")})
    rows = [row for row in DATA.get(interval, {}).get(symbol, []) if row[0].startswith(month)]
    newest_first = list(reversed(rows))
    if params.get("datatype") == "csv":
        return _csv(newest_first)
    meta = {
        "1. Information": f"Intraday ({interval}) open, high, low, close prices and volume",
        "2. Symbol": symbol,
        "3. Last Refreshed": newest_first[0][0] if newest_first else "",
        "4. Interval": interval,
        "5. Output Size": "Full size",
        "6. Time Zone": "US/Eastern",
    }
    series = {row[0]: dict(zip(FIELD_NAMES, row[1:], strict=True)) for row in newest_first}
    return JSONResponse({"Meta Data": meta, f"Time Series ({interval})": series})


def _adjusted_series(symbol: str, newest_first: list[list[str]], full: bool) -> dict:
    """Adjusted closes by the usual back-adjustment: each dividend scales the closes before its ex-date."""
    dividends = {row[0]: Decimal(row[4]) for row in DATA["dividends"].get(symbol, [])}
    factor, series = Decimal(1), {}
    for index, (day, o, h, lo, c, v) in enumerate(newest_first):
        amount = dividends.get(day, Decimal(0))
        series[day] = {
            "1. open": o,
            "2. high": h,
            "3. low": lo,
            "4. close": c,
            "5. adjusted close": f"{Decimal(c) * factor:.4f}",
            "6. volume": v,
            "7. dividend amount": f"{amount:.4f}",
            "8. split coefficient": "1.0",
        }
        if amount and index + 1 < len(newest_first):
            factor *= 1 - amount / Decimal(newest_first[index + 1][4])
    meta = {
        "1. Information": "Daily Time Series with Splits and Dividend Events",
        "2. Symbol": symbol,
        "3. Last Refreshed": newest_first[0][0],
        "4. Output Size": "Full size" if full else "Compact",
        "5. Time Zone": "US/Eastern",
    }
    return {"Meta Data": meta, "Time Series (Daily)": series}


def _splits(symbol: str, rows: list[list[str]]) -> dict:
    return {"symbol": symbol, "data": [{"effective_date": day, "split_factor": factor} for day, factor in rows]}


def _dividends(symbol: str, rows: list[list[str]]) -> dict:
    keys = ("ex_dividend_date", "declaration_date", "record_date", "payment_date", "amount")
    return {"symbol": symbol, "data": [dict(zip(keys, row, strict=True)) for row in rows]}


def daily_rows(symbol: str) -> list[list[str]]:
    """The stand-in's daily bars of a symbol, oldest first: [date, open, high, low, close, volume]."""
    return DATA["daily"][symbol]


def hourly_rows(symbol: str) -> list[list[str]]:
    return DATA["60min"][symbol]


def last_daily_date(symbol: str) -> dt.date:
    return dt.date.fromisoformat(DATA["daily"][symbol][-1][0])


@asynccontextmanager
async def running_alphavantage() -> AsyncIterator[StandIn]:
    stand_in = StandIn()
    app = Starlette(routes=[Route("/query", stand_in.answer)])
    async with running_server(app) as url:
        stand_in.url = f"{url}/query"
        yield stand_in
