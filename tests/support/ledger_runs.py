"""Runs for ledger tests: a fresh user, trading model and run per call, so no test sees another's rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal

from db_models.accounts import User
from db_models.costs import NO_COSTS, TradingCosts
from db_models.runs import Run, TradingMode
from db_models.trading import TradingModel


async def new_run(
    tickers: Iterable[str] = ("AAPL", "MSFT"),
    *,
    initial_cash: str = "10000.00",
    costs: TradingCosts = NO_COSTS,
    mode: TradingMode = TradingMode.DAILY,
) -> Run:
    """Needs Tortoise initialised in this process (depend on the `server_url` fixture)."""
    tickers = list(tickers)
    tag = uuid.uuid4().hex[:10]
    user = await User.create(email=f"ledger-{tag}@example.com", password_hash="x")
    model = await TradingModel.create(
        owner=user,
        name=f"Ledger {tag}",
        signature=f"ledger-{tag}",
        allowed_tickers=tickers,
        initial_cash=Decimal(initial_cash),
        ai_model="local/momentum",
    )
    snapshot = {"allowed_tickers": tickers, "initial_cash": initial_cash, "costs": costs.to_snapshot()}
    return await Run.create(model=model, run_number=1, mode=mode, strategy_snapshot=snapshot)
