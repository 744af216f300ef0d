"""GraphQL types of a trading model's costs: commission, slippage and the position cap (db_models/costs.py)."""

from __future__ import annotations

import strawberry
from strawberry import UNSET

from db_models import costs as db


@strawberry.type(
    description=(
        "What trading costs: fee = max(commissionMinimum, commissionFixed + commissionBps x notional / 10,000), "
        "rounded to the cent, on every BUY and SELL; fills move against the trader by slippageBps of the open; "
        "a buy that would take one symbol above maxPositionWeight of the portfolio's value is refused. "
        "Zero and no cap by default."
    )
)
class TradingCosts:
    commission_fixed: float = strawberry.field(description="Cash per order.")
    commission_bps: float = strawberry.field(description="Basis points of the order's notional (shares x fill).")
    commission_minimum: float = strawberry.field(description="The least one order costs.")
    slippage_bps: float = strawberry.field(description="Basis points of the open: buys fill higher, sells lower.")
    max_position_weight: float | None = strawberry.field(
        description="The largest fraction (0..1] of the portfolio's value one symbol may reach by a buy; null: no cap."
    )

    @classmethod
    def from_costs(cls, costs: db.TradingCosts) -> TradingCosts:
        weight = costs.max_position_weight
        return cls(
            commission_fixed=float(costs.commission_fixed),
            commission_bps=float(costs.commission_bps),
            commission_minimum=float(costs.commission_minimum),
            slippage_bps=float(costs.slippage_bps),
            max_position_weight=None if weight is None else float(weight),
        )


@strawberry.input(
    description="Costs to set: an omitted field keeps its value (zero on create); maxPositionWeight null: no cap."
)
class TradingCostsInput:
    commission_fixed: float | None = UNSET
    commission_bps: float | None = UNSET
    commission_minimum: float | None = UNSET
    slippage_bps: float | None = UNSET
    max_position_weight: float | None = UNSET
