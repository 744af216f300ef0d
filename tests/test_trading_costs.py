"""Commission, slippage and the position cap, each against numbers computed by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from db_models.costs import NO_COSTS, TradingCosts
from db_models.ledger import Portfolio, TradeRefused, apply_trade, current_portfolio
from db_models.runs import ActionType, Position, Run
from tests.support.ledger_runs import new_run

OPEN = dt.datetime(2025, 3, 3, 14, 30, tzinfo=dt.UTC)
D = Decimal


async def trade(run: Run, action: ActionType, symbol: str, amount: int, price: str, costs: TradingCosts, **marks):
    return await apply_trade(
        run,
        action=action,
        symbol=symbol,
        amount=amount,
        price=D(price),
        date=OPEN.date(),
        timestamp=OPEN,
        allowed_tickers=["AAPL", "MSFT"],
        costs=costs,
        marks={s: D(p) for s, p in marks.items()},
    )


# ------------------------------------------------------------------------------------- the formulas


@pytest.mark.parametrize(
    ("costs", "notional", "fee"),
    [
        (NO_COSTS, "2438.50", "0"),
        # max(2.50, 1.00 + 5 bp x 1,000 = 1.50) = 2.50: the minimum wins
        (TradingCosts(D("1.00"), D("5"), D("2.50")), "1000", "2.50"),
        # 1.00 + 5 bp x 10,000 = 6.00
        (TradingCosts(D("1.00"), D("5"), D("2.50")), "10000", "6.00"),
        # 1.00 + 5 bp x 3,333.33 = 2.6666665 -> 2.67
        (TradingCosts(D("1.00"), D("5"), D("2.50")), "3333.33", "2.67"),
        # 5 bp x 1,010 = 0.505: half a cent rounds up
        (TradingCosts(commission_bps=D("5")), "1010", "0.51"),
        (TradingCosts(commission_fixed=D("4.95")), "1", "4.95"),
    ],
)
def test_the_fee_is_the_larger_of_the_minimum_and_fixed_plus_basis_points_rounded_to_the_cent(costs, notional, fee):
    assert costs.fee(D(notional)) == D(fee)


def test_slippage_moves_the_fill_against_the_trader_to_the_price_quantum():
    ten = TradingCosts(slippage_bps=D("10"))
    assert ten.fill_price(D("243.85"), buying=True) == D("244.093850")  # 243.85 x 1.001
    assert ten.fill_price(D("243.85"), buying=False) == D("243.606150")  # 243.85 x 0.999
    three = TradingCosts(slippage_bps=D("3"))
    assert three.fill_price(D("123.456789"), buying=True) == D("123.493826")  # 123.4938260367
    assert NO_COSTS.fill_price(D("243.85"), buying=True) == D("243.85")


def test_costs_survive_a_round_trip_through_a_run_snapshot_and_an_old_snapshot_means_none():
    costs = TradingCosts(D("1"), D("2.5"), D("3"), D("4"), D("0.25"))
    assert TradingCosts.from_snapshot(costs.to_snapshot()) == costs
    assert TradingCosts.from_snapshot(None) == TradingCosts.from_snapshot({}) == NO_COSTS


# ------------------------------------------------------------------------------------- in the ledger


async def test_a_buy_and_a_sell_pay_slippage_and_commission_in_cash(server_url):
    costs = TradingCosts(commission_fixed=D("1.00"), commission_bps=D("5"), slippage_bps=D("10"))
    run = await new_run(costs=costs)
    bought = await trade(run, ActionType.BUY, "AAPL", 10, "243.85", costs)
    # fill 243.85 x 1.001 = 244.09385; notional 2,440.9385; fee 1.00 + 1.22046925 = 2.22
    assert (bought.price, bought.fee) == (D("244.09385"), D("2.22"))
    assert bought.cash == D("10000") - D("2440.9385") - D("2.22") == D("7556.8415")
    sold = await trade(run, ActionType.SELL, "AAPL", 4, "250.10", costs)
    # fill 250.10 x 0.999 = 249.8499; notional 999.3996; fee 1.00 + 0.4996998 = 1.50
    assert (sold.price, sold.fee) == (D("249.8499"), D("1.50"))
    assert sold.cash == D("7556.8415") + D("999.3996") - D("1.50") == D("8554.7411")
    stored = await Position.filter(run_id=run.id).order_by("action_id").values_list("price", "fee", "cash")
    assert stored == [(D("244.09385"), D("2.22"), D("7556.8415")), (D("249.8499"), D("1.50"), D("8554.7411"))]


async def test_without_costs_a_trade_fills_at_the_open_and_pays_no_fee(server_url):
    run = await new_run()
    position = await trade(run, ActionType.BUY, "AAPL", 10, "243.85", NO_COSTS)
    assert (position.price, position.fee, position.cash) == (D("243.85"), D("0"), D("7561.50"))


async def test_a_buy_whose_fee_the_cash_cannot_pay_is_refused_saying_how_many_shares_fit(server_url):
    costs = TradingCosts(commission_fixed=D("5.00"))
    run = await new_run(initial_cash="1000.00", costs=costs)
    with pytest.raises(TradeRefused) as refused:
        await trade(run, ActionType.BUY, "AAPL", 4, "250", costs)  # 1,000.00 + 5.00 > 1,000.00
    assert str(refused.value) == (
        "Not enough cash: buying 4 AAPL at 250.00 costs 1000.00 plus a 5.00 fee but cash is 1000.00; "
        "at most 3 shares fit."
    )
    assert not await Position.exists(run_id=run.id)
    assert (await trade(run, ActionType.BUY, "AAPL", 3, "250", costs)).cash == D("245.00")


async def test_the_minimum_commission_applies_to_a_small_order(server_url):
    costs = TradingCosts(commission_bps=D("1"), commission_minimum=D("1.00"))
    run = await new_run(costs=costs)
    position = await trade(run, ActionType.BUY, "AAPL", 1, "10", costs)  # 1 bp of 10.00 is 0.001: the minimum
    assert (position.fee, position.cash) == (D("1.00"), D("9989.00"))


async def test_a_sell_whose_fee_exceeds_cash_plus_proceeds_is_refused(server_url):
    run = await new_run(initial_cash="100.00")
    await trade(run, ActionType.BUY, "AAPL", 10, "9.98", NO_COSTS)  # cash 0.20
    costs = TradingCosts(commission_minimum=D("1.00"))
    with pytest.raises(TradeRefused) as refused:
        await trade(run, ActionType.SELL, "AAPL", 1, "0.50", costs)  # 0.20 + 0.50 - 1.00 < 0
    assert str(refused.value) == (
        "Not enough cash for the fee: selling 1 AAPL at 0.50 brings 0.50 but its fee is 1.00 and cash is 0.20."
    )
    assert (await trade(run, ActionType.SELL, "AAPL", 2, "0.50", costs)).cash == D("0.20")  # 0.20 + 1.00 - 1.00


async def test_a_buy_above_the_position_cap_is_refused_and_one_at_the_cap_fills(server_url):
    cap = TradingCosts(max_position_weight=D("0.5"))
    run = await new_run(costs=cap)
    with pytest.raises(TradeRefused) as refused:
        await trade(run, ActionType.BUY, "AAPL", 60, "100", cap)  # 6,000 of 10,000: 60 %
    assert str(refused.value) == (
        "Position cap: after buying 60 AAPL at 100.00, AAPL would be 60.00 % of the portfolio's value but this "
        "model allows at most 50.00 % in one symbol; with 0 held, at most 50 more shares fit."
    )
    assert (await trade(run, ActionType.BUY, "AAPL", 50, "100", cap)).holdings == {"AAPL": 50}  # exactly 50 %


async def test_the_cap_values_other_holdings_at_their_marks_and_lets_a_drifted_position_be_sold(server_url):
    cap = TradingCosts(max_position_weight=D("0.5"))
    run = await new_run(costs=cap)
    await trade(run, ActionType.BUY, "AAPL", 50, "100", cap)
    # AAPL rose to 120: 6,000 of 11,000 (54.5 %) has drifted above the cap; MSFT 30 x 100 is 27.3 %.
    await trade(run, ActionType.BUY, "MSFT", 30, "100", cap, AAPL="120")
    with pytest.raises(TradeRefused, match=r"AAPL would be 55\.64 % .* at most 0 more shares fit"):
        await trade(run, ActionType.BUY, "AAPL", 1, "120", cap, MSFT="100")  # 6,120 / 11,000
    assert (await trade(run, ActionType.SELL, "AAPL", 10, "120", cap, MSFT="100")).holdings == {"AAPL": 40, "MSFT": 30}


async def test_the_fee_lowers_the_value_the_cap_is_measured_against(server_url):
    costs = TradingCosts(commission_fixed=D("10"), max_position_weight=D("0.5"))
    run = await new_run(costs=costs)
    # 50 x 100 = 5,000 against 10,000 - 10 = 9,990: 50.05 %; 49 shares are 4,900 / 9,990 = 49.05 %.
    with pytest.raises(TradeRefused, match=r"50\.05 % .* at most 49 more shares fit"):
        await trade(run, ActionType.BUY, "AAPL", 50, "100", costs)
    assert (await trade(run, ActionType.BUY, "AAPL", 49, "100", costs)).cash == D("5090")


async def test_the_cap_cannot_be_checked_without_a_price_for_every_holding(server_url):
    cap = TradingCosts(max_position_weight=D("0.9"))
    run = await new_run(costs=cap)
    await trade(run, ActionType.BUY, "MSFT", 1, "100", NO_COSTS)
    with pytest.raises(TradeRefused, match="No price now for MSFT"):
        await trade(run, ActionType.BUY, "AAPL", 1, "100", cap)
    assert await current_portfolio(run) == Portfolio(cash=D("9900"), holdings={"MSFT": 1})
