"""The trading day's public input and result, and the graph state between its nodes."""

from __future__ import annotations

import datetime
import operator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from agents.agent_loop import LoopState


@dataclass(frozen=True)
class DayContext:
    """What the worker knows about the run at the start of one trading day (or decision bar)."""

    run_id: int
    mode: str  # "DAILY" | "INTRADAY"
    day: datetime.date
    clock_label: str  # e.g. "2025-01-15 09:30 America/New_York (open)"
    first_day: bool
    day_index: int
    total_days: int
    cash: Decimal
    holdings: dict[str, int]
    allowed_tickers: list[str]
    custom_rules: str | None
    custom_instructions: str | None
    symbol: str | None = None  # intraday sessions trade one symbol

    @property
    def is_intraday(self) -> bool:
        return self.mode.upper() == "INTRADAY"


@dataclass
class DayResult:
    """Everything the day produced: the conversation as JSON-able dicts and what the LLM used."""

    messages: list[dict]
    llm_calls: int
    input_tokens: int
    output_tokens: int
    steps: int
    stopped_by_limit: bool


class TradingState(LoopState):
    """Graph state: the loop's, and what the LLM used, growing by what each agent turn adds."""

    llm_calls: Annotated[int, operator.add]
    input_tokens: Annotated[int, operator.add]
    output_tokens: Annotated[int, operator.add]
