"""A model's costs over GraphQL: set, changed, validated, copied into each run, and paid by a run end to end."""

from __future__ import annotations

from decimal import Decimal

import pytest

from db_models.trading import TradingModel
from tests.support import price_fixtures as px
from tests.support.run_helpers import START_DAILY, follow_run

COSTS = "costs { commissionFixed commissionBps commissionMinimum slippageBps maxPositionWeight }"
CREATE = f"mutation($input: CreateModelInput!) {{ createModel(input: $input) {{ id {COSTS} }} }}"
UPDATE = f"mutation($id: ID!, $input: UpdateModelInput!) {{ updateModel(id: $id, input: $input) {{ id {COSTS} }} }}"
RUN = f"""query($id: ID!) {{ run(id: $id) {{ status error strategySnapshot {COSTS}
  positions(first: 100) {{ edges {{ node {{ action symbol amount price fee cash }} }} }}
  performance {{ finalValue totalFees totalTrades }} }} }}"""
NONE = {
    "commissionFixed": 0.0,
    "commissionBps": 0.0,
    "commissionMinimum": 0.0,
    "slippageBps": 0.0,
    "maxPositionWeight": None,
}


async def create(api, account, tickers=("AAPL",), ai_model="local/momentum", **costs) -> dict:
    model = {"name": "Costly", "allowedTickers": list(tickers), "aiModel": ai_model}
    if costs:
        model["costs"] = costs
    return (await api.data(CREATE, {"input": model}, token=account.token))["createModel"]


async def test_a_model_without_costs_trades_free_and_uncapped(api, user):
    assert (await create(api, user))["costs"] == NONE


async def test_costs_set_at_creation_read_back_and_change_field_by_field(api, user):
    created = await create(api, user, commissionFixed=1.0, commissionBps=2.5, slippageBps=5, maxPositionWeight=0.25)
    assert created["costs"] == {**NONE, "commissionFixed": 1.0, "commissionBps": 2.5, "slippageBps": 5.0} | {
        "maxPositionWeight": 0.25
    }
    updated = (
        await api.data(
            UPDATE,
            {"id": created["id"], "input": {"costs": {"commissionMinimum": 4.95, "maxPositionWeight": None}}},
            token=user.token,
        )
    )["updateModel"]
    assert updated["costs"] == {**created["costs"], "commissionMinimum": 4.95, "maxPositionWeight": None}
    row = await TradingModel.get(signature="costly", owner__email=user.email)
    assert (row.commission_minimum, row.max_position_weight, row.commission_bps) == (
        Decimal("4.95"),
        None,
        Decimal("2.5"),
    )


@pytest.mark.parametrize(
    ("costs", "field"),
    [
        ({"commissionFixed": -1}, "costs.commissionFixed"),
        ({"commissionFixed": 0.001}, "costs.commissionFixed"),
        ({"commissionFixed": None}, "costs.commissionFixed"),
        ({"commissionBps": 1000.5}, "costs.commissionBps"),
        ({"commissionMinimum": 20000}, "costs.commissionMinimum"),
        ({"slippageBps": -0.5}, "costs.slippageBps"),
        ({"slippageBps": 0.00001}, "costs.slippageBps"),
        ({"maxPositionWeight": 0}, "costs.maxPositionWeight"),
        ({"maxPositionWeight": 1.5}, "costs.maxPositionWeight"),
    ],
)
async def test_bad_costs_are_refused_naming_the_field_and_change_nothing(api, user, costs, field):
    model = await create(api, user)
    before = await TradingModel.all().count()
    error = await api.error(
        CREATE,
        {"input": {"name": "Bad", "allowedTickers": ["AAPL"], "aiModel": "local/momentum", "costs": costs}},
        token=user.token,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == field
    assert field in error["message"]
    assert await TradingModel.all().count() == before
    error = await api.error(UPDATE, {"id": model["id"], "input": {"costs": costs}}, token=user.token)
    assert error["extensions"]["field"] == field
    assert (await api.data(UPDATE, {"id": model["id"], "input": {}}, token=user.token))["updateModel"]["costs"] == NONE


async def test_costs_cannot_be_set_to_null_on_update(api, user):
    model = await create(api, user)
    error = await api.error(UPDATE, {"id": model["id"], "input": {"costs": None}}, token=user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "costs" in error["message"]


async def test_a_run_pays_the_costs_copied_at_its_start_whatever_the_model_becomes(api, ws_url, user, market):
    model = await create(
        api, user, tickers=(px.SYMBOL, px.OTHER), ai_model="local/buy-and-hold", commissionFixed=1, slippageBps=10
    )
    variables = {"model": model["id"], "input": {"startDate": px.trading_days()[0].isoformat()}}
    variables["input"]["endDate"] = px.trading_days()[-1].isoformat()
    run = (await api.data(START_DAILY, variables, token=user.token))["startDailyRun"]
    # Edited after the start: the run keeps the costs it was started with.
    await api.data(UPDATE, {"id": model["id"], "input": {"costs": {"commissionFixed": 99}}}, token=user.token)
    events, error = await follow_run(ws_url, user.token, run["id"], after_seq=0)
    assert error is None and events[-1]["kind"] == "COMPLETED"

    result = (await api.data(RUN, {"id": run["id"]}, token=user.token))["run"]
    assert result["status"] == "COMPLETED", result["error"]
    assert result["costs"] == {**NONE, "commissionFixed": 1.0, "slippageBps": 10.0}
    assert result["strategySnapshot"]["costs"] == {
        "commission_fixed": "1",
        "commission_bps": "0",
        "commission_minimum": "0",
        "slippage_bps": "10",
        "max_position_weight": None,
    }
    trades = sorted(
        (n["symbol"], n["amount"], n["price"], n["fee"])
        for n in (e["node"] for e in result["positions"]["edges"])
        if n["action"] == "BUY"
    )
    # 5,000 a ticker at the first opens 100 and 1,100: 50 LKAH and 4 LKBH, filled 10 bp higher, 1.00 each.
    assert trades == [(px.SYMBOL, 50, 100.1, 1.0), (px.OTHER, 4, 1101.1, 1.0)]
    cash = Decimal("10000") - 50 * Decimal("100.1") - 4 * Decimal("1101.1") - 2
    last = len(px.trading_days()) - 1
    final = cash + 50 * px.daily_close(last) + 4 * (px.daily_close(last) + 1000)
    assert result["performance"] == {"finalValue": float(final), "totalFees": 2.0, "totalTrades": 2}
