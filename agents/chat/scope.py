"""What the analyst may see: the asking user's own models and runs, found by the references an LLM gives.

Models are named by name, signature or number and runs by run number within a model, looked up among the
user's own only, so another user's model or run answers exactly like a missing one. A reference left out
means the conversation's model and run (else the user's only model, else the model's latest run).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from db_models.metrics import PerformanceFigures
from db_models.metrics import run_performance as compute_run_performance
from db_models.runs import Run
from db_models.trading import TradingModel

MAX_MODELS = 50
# Model ids and run numbers are 32-bit integer columns: a larger number names nothing, and is not asked for
# (the database would refuse to compare the column with it).
MAX_KEY = 2**31 - 1


class Lookup(Exception):
    """A model, run or argument the tool cannot use; str(exc) is the sentence the LLM reads."""


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=_jsonable, ensure_ascii=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def performance_dict(figures: PerformanceFigures | None) -> dict[str, Any] | None:
    """The contract's Performance fields, camelCase."""
    if figures is None:
        return None

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    return {
        "initialValue": round(figures.initial_value, 2),
        "finalValue": round(figures.final_value, 2),
        "totalReturn": r(figures.total_return),
        "annualizedReturn": r(figures.annualized_return),
        "volatility": r(figures.volatility),
        "sharpeRatio": r(figures.sharpe_ratio),
        "sortinoRatio": r(figures.sortino_ratio),
        "maxDrawdown": r(figures.max_drawdown),
        "winRate": r(figures.win_rate),
        "totalTrades": figures.total_trades,
        "tradingDays": figures.trading_days,
        "totalFees": round(figures.total_fees, 2),
        "totalDividends": round(figures.total_dividends, 2),
    }


def parse_date(value: str | None, label: str) -> datetime.date | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return datetime.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise Lookup(f"Not understood: {label} {value!r} is not a date; use YYYY-MM-DD.") from None


def run_number_of(value: Any) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip().lstrip("#")
    if text.lower().startswith("run"):
        text = text[3:].strip().lstrip("#")
    try:
        return int(text)
    except ValueError:
        raise Lookup(f"Not understood: {value!r} is not a run number.") from None


def model_label(model: TradingModel) -> dict[str, str]:
    return {"name": model.name, "signature": model.signature}


def run_summary(run: Run) -> dict[str, Any]:
    return {
        "runNumber": run.run_number,
        "status": str(run.status),
        "mode": str(run.mode),
        "startDate": run.start_date or run.date,
        "endDate": run.end_date or run.date,
        "symbol": run.symbol,
        "startedAt": run.started_at,
        "endedAt": run.ended_at,
        "tradeCount": run.total_trades,
    }


@dataclass(frozen=True)
class AnalystScope:
    """The asking user and the conversation's model and run (db ids), which arguments default to."""

    user_id: int
    model_id: int | None = None
    run_id: int | None = None

    def models(self):
        return TradingModel.filter(owner_id=self.user_id)

    async def model(self, reference: str | None) -> TradingModel:
        """The user's model named by signature, name or number; the conversation's (or the only) one by default."""
        if reference is None or str(reference).strip() == "":
            if self.model_id is not None:
                model = await self.models().filter(id=self.model_id).first()
                if model is not None:
                    return model
            models = await self.models().order_by("id").limit(MAX_MODELS + 1)
            if len(models) == 1:
                return models[0]
            if not models:
                raise Lookup("Not found: you have no trading models yet.")
            names = ", ".join(f"{m.name} ({m.signature})" for m in models[:MAX_MODELS])
            raise Lookup(f"Not found: which model? This conversation is not about one model; yours are: {names}.")
        text = str(reference).strip()
        for lookup in ({"signature__iexact": text}, {"name__iexact": text}):
            found = await self.models().filter(**lookup).order_by("id").limit(MAX_MODELS)
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                names = ", ".join(m.signature for m in found)
                raise Lookup(
                    f"Not found: {len(found)} of your models are called {text!r}; name one by signature: {names}."
                )
        if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= MAX_KEY:
            model = await self.models().filter(id=int(text)).first()
            if model is not None:
                return model
        raise Lookup(f"Not found: you have no model called {text!r}.")

    async def run(self, model: TradingModel, run_number: Any) -> Run:
        """The model's run with that number; the conversation's run (when of this model), else the latest."""
        number = run_number_of(run_number)
        runs = Run.filter(model_id=model.id, model__owner_id=self.user_id)
        if number is not None:
            run = await runs.filter(run_number=number).first() if abs(number) <= MAX_KEY else None
            if run is None:
                raise Lookup(f"Not found: {model.name} ({model.signature}) has no run {number}.")
            return run
        if self.run_id is not None:
            run = await runs.filter(id=self.run_id).first()
            if run is not None:
                return run
        run = await runs.order_by("-run_number").first()
        if run is None:
            raise Lookup(f"Not found: {model.name} ({model.signature}) has no runs yet.")
        return run

    async def performance_of(self, model: TradingModel, run: Run) -> dict[str, Any]:
        figures = await compute_run_performance(run)
        return {"model": model_label(model), **run_summary(run), "performance": performance_dict(figures)}


async def conversation_facts(scope: AnalystScope) -> list[tuple[str, str]]:
    """The conversation's model and run as `Label: value` facts for the system prompt (owner-checked)."""
    facts: list[tuple[str, str]] = [("Today", datetime.date.today().isoformat())]
    model = await scope.models().filter(id=scope.model_id).first() if scope.model_id is not None else None
    if model is None:
        count = await scope.models().count()
        facts.append(
            (
                "Conversation model",
                f"none (a general conversation; the user has {count} model{'' if count == 1 else 's'})",
            )
        )
        return facts
    facts += [
        ("Conversation model", f"{model.name} (signature {model.signature})"),
        ("Model's AI", model.ai_model),
        ("Allowed tickers", ", ".join(model.allowed_tickers or []) or "none"),
        ("Initial cash", f"{Decimal(model.initial_cash):.2f}"),
        ("Runs of the model", str(await Run.filter(model_id=model.id).count())),
    ]
    run = None
    if scope.run_id is not None:
        run = await Run.filter(id=scope.run_id, model_id=model.id).first()
    if run is not None:
        period = (
            f"{run.start_date} to {run.end_date}" if run.start_date else f"{run.symbol} on {run.date} ({run.session})"
        )
        facts.append(("Conversation run", f"run {run.run_number}, {run.mode}, {run.status}, {period}"))
    else:
        facts.append(("Conversation run", "none (runs default to the model's latest)"))
    return facts
