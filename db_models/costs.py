"""What trading costs a run: commission per order, slippage against the trader, and a cap on one position's weight.

A trading model holds these; each run copies them into its strategy snapshot, so a later edit of the model
never changes a run. The zero value (no commission, no slippage, no cap) is what a run without them trades at.

- fee = max(minimum, fixed + bps × notional / 10,000), rounded half-up to the cent, where notional = shares ×
  fill price; charged in cash on every BUY and SELL.
- fill = open × (1 + slippage_bps / 10,000) for a buy, × (1 − slippage_bps / 10,000) for a sell, rounded
  half-up to the price quantum (0.000001).
- the weight of a symbol after a buy = its shares × fill / the portfolio's value after the fill (cash after the
  cost and fee, every holding at its fill-time price); a buy that would take it above max_position_weight is
  refused. None means no cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
PRICE_QUANTUM = Decimal("0.000001")
BASIS_POINTS = Decimal(10_000)
ZERO = Decimal(0)


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class TradingCosts:
    commission_fixed: Decimal = ZERO  # cash per order
    commission_bps: Decimal = ZERO  # basis points of the order's notional
    commission_minimum: Decimal = ZERO  # the least an order costs
    slippage_bps: Decimal = ZERO  # basis points of the open, against the trader
    max_position_weight: Decimal | None = None  # a fraction of the portfolio's value, 0 < w <= 1

    @property
    def charges_fees(self) -> bool:
        return bool(self.commission_fixed or self.commission_bps or self.commission_minimum)

    def fee(self, notional: Decimal) -> Decimal:
        """The commission of one order worth `notional` (shares × fill price), in cents."""
        if not self.charges_fees:
            return ZERO
        computed = self.commission_fixed + self.commission_bps * notional / BASIS_POINTS
        return max(self.commission_minimum, computed).quantize(CENT, ROUND_HALF_UP)

    def fill_price(self, market_price: Decimal, *, buying: bool) -> Decimal:
        """The price an order fills at: the market price moved against the trader by the slippage."""
        shift = self.slippage_bps / BASIS_POINTS
        factor = 1 + shift if buying else 1 - shift
        return (market_price * factor).quantize(PRICE_QUANTUM, ROUND_HALF_UP)

    def to_snapshot(self) -> dict[str, str | None]:
        """Exact decimals as strings without trailing zeros ("2.5"), for a run's JSON strategy snapshot."""
        return {
            "commission_fixed": _text(self.commission_fixed),
            "commission_bps": _text(self.commission_bps),
            "commission_minimum": _text(self.commission_minimum),
            "slippage_bps": _text(self.slippage_bps),
            "max_position_weight": None if self.max_position_weight is None else _text(self.max_position_weight),
        }

    @classmethod
    def from_snapshot(cls, stored: dict[str, Any] | None) -> TradingCosts:
        """A snapshot's costs; a run started before costs existed (no key) trades at zero costs, uncapped."""
        stored = stored or {}
        weight = stored.get("max_position_weight")
        return cls(
            commission_fixed=_decimal(stored.get("commission_fixed") or 0),
            commission_bps=_decimal(stored.get("commission_bps") or 0),
            commission_minimum=_decimal(stored.get("commission_minimum") or 0),
            slippage_bps=_decimal(stored.get("slippage_bps") or 0),
            max_position_weight=None if weight is None else _decimal(weight),
        )

    @classmethod
    def of_model(cls, model: Any) -> TradingCosts:
        """The costs stored on a trading model row (db_models.trading.TradingModel)."""
        return cls(
            commission_fixed=_decimal(model.commission_fixed),
            commission_bps=_decimal(model.commission_bps),
            commission_minimum=_decimal(model.commission_minimum),
            slippage_bps=_decimal(model.slippage_bps),
            max_position_weight=None if model.max_position_weight is None else _decimal(model.max_position_weight),
        )


NO_COSTS = TradingCosts()
