"""Validation of trading-model input: every rule answers BAD_USER_INPUT naming the field."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from strawberry import UNSET

from agents.catalog import find_model
from db_models.costs import TradingCosts
from db_models.market import TICKER_PATTERN, PriceBar
from graphql_api.errors import BadUserInput, Unavailable
from graphql_api.one_line import clean_line
from tools.extra_servers import ExtraServer, ExtraServersError, NotConfigured, chosen_servers

logger = logging.getLogger("aibt.models")

MAX_NAME = 100
MAX_DESCRIPTION = 2_000
MAX_RULES = 20_000
MAX_TICKERS = 100
MAX_CASH = Decimal("1000000000")  # one billion: beyond this a backtest is not a plausible account

# GraphQL name -> (stored key, lowest, highest, integer?)
PARAMETER_RULES: dict[str, tuple[str, float, float, bool]] = {
    "temperature": ("temperature", 0.0, 2.0, False),
    "top_p": ("top_p", 0.0, 1.0, False),
    "top_k": ("top_k", 1, 1000, True),
    "frequency_penalty": ("frequency_penalty", -2.0, 2.0, False),
    "presence_penalty": ("presence_penalty", -2.0, 2.0, False),
    "max_tokens": ("max_tokens", 1, 200_000, True),
}
_GRAPHQL_NAMES = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "frequency_penalty": "frequencyPenalty",
    "presence_penalty": "presencePenalty",
    "max_tokens": "maxTokens",
}


def _printable(text: str) -> bool:
    return not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text)


def clean_name(name: str | None) -> str:
    return clean_line(name, field="name", limit=MAX_NAME)


def clean_text(value: str | None, *, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if len(value) > limit or not _printable(value):
        raise BadUserInput(f"{field} must be at most {limit:,} printable characters.", field=field)
    return value.strip() or None


def clean_cash(value: float | None) -> Decimal:
    if value is None or not math.isfinite(value):
        raise BadUserInput("initialCash must be a number.", field="initialCash")
    try:
        cash = Decimal(repr(value))
    except InvalidOperation:
        raise BadUserInput("initialCash must be a number.", field="initialCash") from None
    if cash <= 0:
        raise BadUserInput("initialCash must be greater than 0.", field="initialCash")
    if cash > MAX_CASH:
        raise BadUserInput(f"initialCash must be at most {MAX_CASH:,}.", field="initialCash")
    if cash != cash.quantize(Decimal("0.01")):
        raise BadUserInput("initialCash must be a whole number of cents.", field="initialCash")
    return cash.quantize(Decimal("0.01"))


def clean_ai_model(model_id: str | None) -> str:
    value = (model_id or "").strip()
    if find_model(value) is None:
        raise BadUserInput(f"aiModel {model_id!r} is not one of Query.aiModels.", field="aiModel")
    return value


async def clean_tickers(tickers: list[str] | None) -> list[str]:
    if not tickers:
        raise BadUserInput("allowedTickers must name at least one ticker.", field="allowedTickers")
    if len(tickers) > MAX_TICKERS:
        raise BadUserInput(f"allowedTickers may name at most {MAX_TICKERS} tickers.", field="allowedTickers")
    cleaned: list[str] = []
    for raw in tickers:
        symbol = raw.strip().upper()
        if not TICKER_PATTERN.match(symbol):
            raise BadUserInput(
                f"allowedTickers: {raw!r} is not a well-formed ticker symbol (e.g. AAPL, BRK.B).",
                field="allowedTickers",
            )
        if symbol not in cleaned:
            cleaned.append(symbol)
    await _check_prices_exist(cleaned)
    return cleaned


async def _check_prices_exist(symbols: list[str]) -> None:
    """Once any price data is loaded, a ticker without prices could never trade: refuse it."""
    if not await PriceBar.exists():
        return
    known = set(await PriceBar.filter(symbol__in=symbols).distinct().values_list("symbol", flat=True))
    missing = [s for s in symbols if s not in known]
    if missing:
        raise BadUserInput(f"allowedTickers: no price data for {', '.join(missing)}.", field="allowedTickers")


def clean_extra_tools(names: list[str] | None) -> list[str]:
    """Names of configured external tool servers, once each, in order."""
    cleaned = list(dict.fromkeys(name.strip() for name in names or []))
    check_extra_servers(cleaned)
    return cleaned


def check_extra_servers(names: list[str]) -> list[ExtraServer]:
    """The configured servers of these names; BAD_USER_INPUT on extraTools for a name not configured."""
    try:
        return chosen_servers(names)
    except NotConfigured as exc:
        raise BadUserInput(f"extraTools: {exc}.", field="extraTools") from None
    except ExtraServersError as exc:  # the file itself: the operator's to fix, and its path is not for clients
        logger.error("the extra tool servers cannot be used: %s", exc)
        raise Unavailable("This server's external tool servers are misconfigured; its log says why.") from None


def clean_parameters(given: Any, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merges a ModelParametersInput into the stored parameters: omitted keep, null clears."""
    merged = dict(current or {})
    if given is None or given is UNSET:
        return merged
    for attr, (key, low, high, integer) in PARAMETER_RULES.items():
        value = getattr(given, attr, UNSET)
        if value is UNSET:
            continue
        if value is None:
            merged.pop(key, None)
            continue
        name = _GRAPHQL_NAMES[attr]
        if not math.isfinite(value) or not low <= value <= high:
            raise BadUserInput(
                f"parameters.{name} must be between {low} and {high}; got {value}.", field=f"parameters.{name}"
            )
        merged[key] = int(value) if integer else float(value)
    return merged


# GraphQL name -> (TradingCosts attribute, highest value, decimal places allowed)
COST_RULES: dict[str, tuple[str, Decimal, int]] = {
    "commissionFixed": ("commission_fixed", Decimal("10000"), 2),
    "commissionBps": ("commission_bps", Decimal("1000"), 4),
    "commissionMinimum": ("commission_minimum", Decimal("10000"), 2),
    "slippageBps": ("slippage_bps", Decimal("1000"), 4),
}


def _cost_value(value: Any, name: str, highest: Decimal, places: int) -> Decimal:
    field = f"costs.{name}"
    if value is None:
        raise BadUserInput(f"{field} cannot be null; pass 0 for none.", field=field)
    if not math.isfinite(value):
        raise BadUserInput(f"{field} must be a number.", field=field)
    amount = Decimal(repr(value))
    if not 0 <= amount <= highest:
        raise BadUserInput(f"{field} must be between 0 and {highest:,}; got {value}.", field=field)
    quantum = Decimal(1).scaleb(-places)
    if amount != amount.quantize(quantum):
        raise BadUserInput(f"{field} may have at most {places} decimal places; got {value}.", field=field)
    return amount.quantize(quantum)


def _weight(value: Any) -> Decimal | None:
    field = "costs.maxPositionWeight"
    if value is None:
        return None
    if not math.isfinite(value) or not 0 < value <= 1:
        raise BadUserInput(
            f"{field} must be above 0 and at most 1 (a fraction of the portfolio); got {value}.", field=field
        )
    weight = Decimal(repr(value))
    if weight != weight.quantize(Decimal("0.000001")):
        raise BadUserInput(f"{field} may have at most 6 decimal places; got {value}.", field=field)
    return weight


def clean_costs(given: Any, current: TradingCosts) -> TradingCosts:
    """Merges a TradingCostsInput into the current costs: omitted fields keep their value."""
    if given is None or given is UNSET:
        return current
    values = {}
    for name, (attribute, highest, places) in COST_RULES.items():
        value = getattr(given, _snake(name), UNSET)
        if value is not UNSET:
            values[attribute] = _cost_value(value, name, highest, places)
    weight = getattr(given, "max_position_weight", UNSET)
    if weight is not UNSET:
        values["max_position_weight"] = _weight(weight)
    return replace(current, **values)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:100] or "model"
