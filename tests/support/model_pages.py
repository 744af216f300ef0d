"""A page of trading models with finished runs, equity curves and trades, written straight to the database."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from db_models.accounts import User
from db_models.runs import EquityPoint, Position, Run
from db_models.trading import TradingModel

PAGE_QUERY = """query($first: Int) { models(first: $first) { edges { node {
  owner { email } latestRun { status finalReturn } performance { totalReturn sharpeRatio maxDrawdown } } } } }"""

START = dt.date(2024, 1, 2)


def _days(count: int) -> list[dt.date]:
    days, day = [], START
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _at(day: dt.date, hour: int = 16) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


async def seed_model_page(owner: User, count: int, *, days: int = 20, prefix: str = "page") -> list[TradingModel]:
    """`count` models, created oldest first. Each has an older COMPLETED run and a latest COMPLETED run
    with `days` equity points and a buy, a partial sell and a no-trade per day; every third model also has
    a newer FAILED run with no points (so its latestRun is not the run its performance comes from); every
    seventh model's latest completed run is an intraday session. Odd models' runs carry no initial cash in
    their snapshot (their model's counts), even ones carry a different amount than the model's."""
    models = [
        await TradingModel.create(
            owner=owner,
            name=f"{prefix} {i}",
            signature=f"{prefix}-{i}",
            allowed_tickers=["AAPL", "MSFT"],
            initial_cash=Decimal(10000 + 100 * i),
            ai_model="local/momentum",
            parameters={},
        )
        for i in range(count)
    ]
    for i, model in enumerate(models):
        snapshot = {} if i % 2 else {"initial_cash": str(5000 + 10 * i)}
        for number, status in ((1, "COMPLETED"), (2, "COMPLETED"), (3, "FAILED")):
            if number == 3 and i % 3:
                continue
            intraday = number == 2 and i % 7 == 3
            run = await Run.create(
                model=model,
                run_number=number,
                status=status,
                strategy_snapshot=snapshot,
                mode="INTRADAY" if intraday else "DAILY",
                session="PRE" if intraday else None,
                bar_interval="HOUR" if intraday else "DAY",
                symbol="AAPL" if intraday else None,
                date=START if intraday else None,
                final_return=None if number == 3 else 0.01 * (i - number),
                error="boom" if number == 3 else None,
            )
            if number == 3:
                continue
            cash0 = float(snapshot.get("initial_cash") or model.initial_cash)
            points, positions = [], []
            for d, day in enumerate(_days(days)):
                value = cash0 * (1 + 0.004 * d * math.sin(i + number + d) + 0.001 * d)
                at = _at(START, 4) + dt.timedelta(minutes=15 * d) if intraday else _at(day)
                points.append(
                    EquityPoint(
                        run=run,
                        date=START if intraday else day,
                        timestamp=at,
                        value=Decimal(f"{value:.2f}"),
                        cash=Decimal("1000.00"),
                    )
                )
                price = Decimal(f"{100 + (i + d) % 9}.{d % 100:02d}")
                for k, (action, amount) in enumerate((("BUY", 4), ("SELL", 2), ("NO_TRADE", None))):
                    positions.append(
                        Position(
                            run=run,
                            action_id=3 * d + k + 1,
                            date=points[-1].date,
                            timestamp=at,
                            action=action,
                            symbol=None if amount is None else "AAPL",
                            amount=amount,
                            price=None if amount is None else price + k,
                            holdings={"AAPL": 2 * (d + 1)},
                            cash=Decimal("1000.00"),
                        )
                    )
            await EquityPoint.bulk_create(points)
            await Position.bulk_create(positions)
    return models
