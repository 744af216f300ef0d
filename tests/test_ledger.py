"""The portfolio ledger: exact cash, the trading rules, contiguous action ids, closes, concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal

import pytest

from db_models.accounts import User
from db_models.ledger import Portfolio, TradeRefused, apply_trade, current_portfolio, record_close, record_no_trade
from db_models.runs import ActionType, EquityPoint, Position, Run, TradingMode
from db_models.trading import TradingModel

TICKERS = ["AAPL", "MSFT"]
DAY = dt.date(2025, 3, 3)
OPEN = dt.datetime(2025, 3, 3, 14, 30, tzinfo=dt.UTC)
CLOSE = dt.datetime(2025, 3, 3, 21, 0, tzinfo=dt.UTC)


@pytest.fixture
async def make_run(server_url):
    """A fresh user, trading model and run per call, so no test sees another's rows."""

    async def make(initial_cash: str | None = "10000.00", model_cash: str = "10000.00") -> Run:
        user = await User.create(email=f"ledger-{uuid.uuid4().hex[:10]}@example.com", password_hash="x")
        model = await TradingModel.create(
            owner=user,
            name="Ledger",
            signature="ledger",
            allowed_tickers=TICKERS,
            initial_cash=Decimal(model_cash),
            ai_model="local/momentum",
        )
        snapshot = {"allowed_tickers": TICKERS}
        if initial_cash is not None:
            snapshot["initial_cash"] = initial_cash
        return await Run.create(model=model, run_number=1, mode=TradingMode.DAILY, strategy_snapshot=snapshot)

    return make


async def trade(run: Run, action: ActionType | str, symbol: str, amount, price, *, at: dt.datetime = OPEN) -> Position:
    return await apply_trade(
        run,
        action=action,
        symbol=symbol,
        amount=amount,
        price=price,
        date=at.date(),
        timestamp=at,
        allowed_tickers=TICKERS,
    )


async def buy(run: Run, symbol: str, amount, price: str) -> Position:
    return await trade(run, ActionType.BUY, symbol, amount, Decimal(price))


async def sell(run: Run, symbol: str, amount, price: str) -> Position:
    return await trade(run, ActionType.SELL, symbol, amount, Decimal(price))


async def stored_state(run: Run) -> tuple[list[dict], int, list[dict]]:
    positions = await Position.filter(run_id=run.id).order_by("action_id").values()
    points = await EquityPoint.filter(run_id=run.id).order_by("timestamp").values()
    total_trades = (await Run.get(id=run.id)).total_trades
    return [dict(p) for p in positions], total_trades, [dict(p) for p in points]


async def action_ids(run: Run) -> list[int]:
    return await Position.filter(run_id=run.id).order_by("action_id").values_list("action_id", flat=True)


def test_a_portfolio_is_worth_its_cash_plus_its_holdings_at_their_prices():
    portfolio = Portfolio(cash=Decimal("1000.10"), holdings={"AAPL": 3, "MSFT": 2})
    assert portfolio.value({"AAPL": Decimal("243.85"), "MSFT": Decimal("401.05"), "NVDA": Decimal("1")}) == Decimal(
        "1000.10"
    ) + 3 * Decimal("243.85") + 2 * Decimal("401.05")
    assert Portfolio(cash=Decimal("5.5"), holdings={}).value({}) == Decimal("5.5")


def test_valuing_a_holding_without_a_price_names_the_symbol():
    with pytest.raises(ValueError, match="MSFT"):
        Portfolio(cash=Decimal("1"), holdings={"AAPL": 1, "MSFT": 2}).value({"AAPL": Decimal("1")})


async def test_a_new_run_starts_with_its_initial_cash_and_no_holdings(make_run):
    run = await make_run(initial_cash="2500.25", model_cash="99.00")
    assert await current_portfolio(run) == Portfolio(cash=Decimal("2500.25"), holdings={})


async def test_initial_cash_falls_back_to_the_models_when_the_snapshot_has_none(make_run):
    run = await make_run(initial_cash=None, model_cash="7777.70")
    assert await current_portfolio(run) == Portfolio(cash=Decimal("7777.70"), holdings={})
    position = await buy(run, "AAPL", 1, "7777.70")
    assert position.cash == Decimal("0")


async def test_a_buy_takes_its_exact_cost_from_cash(make_run):
    run = await make_run()
    position = await buy(run, "AAPL", 10, "243.85")
    assert (position.action, position.symbol, position.amount, position.action_id) == (ActionType.BUY, "AAPL", 10, 1)
    assert position.cash == Decimal("7561.50")
    assert position.holdings == {"AAPL": 10}
    stored = await Position.get(run_id=run.id, action_id=1)
    assert stored.cash == Decimal("7561.50") and stored.price == Decimal("243.85")
    assert stored.holdings == {"AAPL": 10}
    assert await current_portfolio(run) == Portfolio(cash=Decimal("7561.50"), holdings={"AAPL": 10})
    assert (await Run.get(id=run.id)).total_trades == 1


async def test_a_sell_adds_its_proceeds_and_drops_a_symbol_sold_out(make_run):
    run = await make_run()
    await buy(run, "AAPL", 10, "243.85")
    await buy(run, "MSFT", 3, "401.05")
    after_sell = await sell(run, "AAPL", 4, "250.10")
    assert after_sell.cash == Decimal("10000") - Decimal("2438.50") - Decimal("1203.15") + Decimal("1000.40")
    assert after_sell.holdings == {"AAPL": 6, "MSFT": 3}
    sold_out = await sell(run, "AAPL", 6, "250.10")
    assert sold_out.holdings == {"MSFT": 3}
    assert await current_portfolio(run) == Portfolio(cash=Decimal("8859.35"), holdings={"MSFT": 3})
    assert (await Run.get(id=run.id)).total_trades == 4


async def test_cash_stays_exact_over_many_small_trades(make_run):
    run = await make_run(initial_cash="1.00")
    for _ in range(10):
        await buy(run, "AAPL", 1, "0.10")  # ten float subtractions of 0.1 would not reach 0
    assert await current_portfolio(run) == Portfolio(cash=Decimal("0"), holdings={"AAPL": 10})
    await sell(run, "AAPL", 3, "0.333333")
    assert (await current_portfolio(run)).cash == Decimal("0.999999")


async def test_a_lower_case_ticker_trades_the_allowed_symbol(make_run):
    run = await make_run()
    position = await buy(run, " aapl ", 2, "100")
    assert position.symbol == "AAPL" and position.holdings == {"AAPL": 2}


async def test_the_cash_refusal_reads_as_a_sentence(make_run):
    run = await make_run(initial_cash="1000.00")
    with pytest.raises(TradeRefused) as refused:
        await buy(run, "AAPL", 10, "243.85")
    assert str(refused.value) == (
        "Not enough cash: buying 10 AAPL at 243.85 costs 2438.50 but cash is 1000.00; at most 4 shares fit."
    )


async def test_a_buy_costing_exactly_all_the_cash_is_allowed(make_run):
    run = await make_run(initial_cash="2438.50")
    assert (await buy(run, "AAPL", 10, "243.85")).cash == Decimal("0")


REFUSALS = [
    pytest.param(ActionType.BUY, "AAPL", 100, Decimal("243.85"), "Not enough cash", id="buy beyond cash"),
    pytest.param(
        ActionType.SELL,
        "AAPL",
        6,
        Decimal("250"),
        "Not enough shares: selling 6 AAPL but only 5 are held",
        id="sell beyond holdings",
    ),
    pytest.param(ActionType.SELL, "MSFT", 1, Decimal("250"), "only 0 are held", id="sell of a symbol not held"),
    pytest.param(ActionType.BUY, "NVDA", 1, Decimal("100"), "NVDA is not an allowed ticker", id="ticker not allowed"),
    pytest.param(ActionType.BUY, "", 1, Decimal("100"), "needs a ticker", id="empty ticker"),
    pytest.param(ActionType.BUY, "AAPL", 0, Decimal("100"), "whole number of shares above zero", id="zero amount"),
    pytest.param(
        ActionType.SELL, "AAPL", -2, Decimal("100"), "whole number of shares above zero", id="negative amount"
    ),
    pytest.param(ActionType.BUY, "AAPL", True, Decimal("100"), "whole number of shares above zero", id="bool amount"),
    pytest.param(ActionType.BUY, "AAPL", 1.5, Decimal("100"), "not 1.5", id="fractional amount"),
    pytest.param(ActionType.BUY, "AAPL", 2.0, Decimal("100"), "whole number of shares", id="float amount"),
    pytest.param(ActionType.BUY, "AAPL", "3", Decimal("100"), "whole number of shares", id="string amount"),
    pytest.param(ActionType.BUY, "AAPL", 1, Decimal("0"), "price must be a positive number", id="zero price"),
    pytest.param(ActionType.SELL, "AAPL", 1, Decimal("-5"), "price must be a positive number", id="negative price"),
    pytest.param(ActionType.BUY, "AAPL", 1, Decimal("NaN"), "price must be a positive number", id="NaN price"),
    pytest.param(ActionType.NO_TRADE, "AAPL", 1, Decimal("100"), "must be a BUY or a SELL", id="not a trade"),
]


@pytest.mark.parametrize("action, symbol, amount, price, message", REFUSALS)
async def test_a_forbidden_trade_is_refused_readably_and_writes_nothing(
    make_run, action, symbol, amount, price, message
):
    run = await make_run()
    await buy(run, "AAPL", 5, "200")
    before = await stored_state(run)
    with pytest.raises(TradeRefused) as refused:
        await trade(run, action, symbol, amount, price)
    text = str(refused.value)
    assert message in text and text.endswith(".") and text[0].isupper()
    assert await stored_state(run) == before
    assert await current_portfolio(run) == Portfolio(cash=Decimal("9000"), holdings={"AAPL": 5})


async def test_action_ids_run_one_to_n_across_trades_no_trades_and_refusals(make_run):
    run = await make_run()
    await buy(run, "AAPL", 5, "200")
    await record_no_trade(run, date=DAY, timestamp=OPEN)
    with pytest.raises(TradeRefused):
        await sell(run, "MSFT", 1, "100")
    await buy(run, "MSFT", 1, "300")
    with pytest.raises(TradeRefused):
        await buy(run, "AAPL", 1000, "200")
    await sell(run, "AAPL", 2, "210")
    await record_no_trade(run, date=DAY, timestamp=CLOSE)
    assert await action_ids(run) == [1, 2, 3, 4, 5]
    actions = await Position.filter(run_id=run.id).order_by("action_id").values_list("action", flat=True)
    assert actions == ["BUY", "NO_TRADE", "BUY", "SELL", "NO_TRADE"]
    assert (await Run.get(id=run.id)).total_trades == 3


async def test_a_no_trade_row_carries_the_current_portfolio(make_run):
    run = await make_run()
    first = await record_no_trade(run, date=DAY, timestamp=OPEN)
    assert (first.action_id, first.action, first.cash, first.holdings) == (1, ActionType.NO_TRADE, Decimal("10000"), {})
    assert first.symbol is None and first.amount is None and first.price is None
    await buy(run, "AAPL", 3, "123.45")
    second = await record_no_trade(run, date=DAY, timestamp=CLOSE)
    stored = await Position.get(id=second.id)
    assert (stored.action_id, stored.cash, stored.holdings) == (3, Decimal("9629.65"), {"AAPL": 3})
    assert (await Run.get(id=run.id)).total_trades == 1


async def test_runs_keep_separate_portfolios(make_run):
    first, second = await make_run(), await make_run(initial_cash="500")
    await buy(first, "AAPL", 10, "100")
    assert await current_portfolio(second) == Portfolio(cash=Decimal("500"), holdings={})
    assert (await buy(second, "MSFT", 1, "100")).action_id == 1


async def test_a_close_values_cash_plus_holdings_at_the_closing_prices(make_run):
    run = await make_run()
    await buy(run, "AAPL", 10, "243.85")
    await buy(run, "MSFT", 2, "400")
    point = await record_close(
        run,
        date=DAY,
        timestamp=CLOSE,
        prices={"AAPL": Decimal("245.10"), "MSFT": Decimal("398.75"), "NVDA": Decimal("1")},
    )
    cash = Decimal("10000") - Decimal("2438.50") - Decimal("800")
    assert point.cash == cash
    assert point.value == cash + Decimal("2451.00") + Decimal("797.50")
    stored = await EquityPoint.get(run_id=run.id)
    assert (stored.date, stored.value, stored.cash) == (DAY, Decimal("10010.00"), cash)


async def test_recording_the_same_close_again_updates_it_instead_of_adding_one(make_run):
    run = await make_run()
    await buy(run, "AAPL", 10, "100")
    first = await record_close(run, date=DAY, timestamp=CLOSE, prices={"AAPL": Decimal("101")})
    again = await record_close(run, date=DAY, timestamp=CLOSE, prices={"AAPL": Decimal("102.5")})
    assert again.id == first.id
    assert await EquityPoint.filter(run_id=run.id).count() == 1
    assert (await EquityPoint.get(run_id=run.id)).value == Decimal("10025")
    next_day = CLOSE + dt.timedelta(days=1)
    await record_close(run, date=next_day.date(), timestamp=next_day, prices={"AAPL": Decimal("99")})
    values = await EquityPoint.filter(run_id=run.id).order_by("timestamp").values_list("value", flat=True)
    assert values == [Decimal("10025"), Decimal("9990")]


async def test_a_close_without_a_price_for_a_holding_writes_nothing(make_run):
    run = await make_run()
    await buy(run, "AAPL", 1, "100")
    with pytest.raises(ValueError, match="AAPL"):
        await record_close(run, date=DAY, timestamp=CLOSE, prices={"MSFT": Decimal("1")})
    assert not await EquityPoint.exists(run_id=run.id)


async def test_a_close_with_no_holdings_is_the_cash(make_run):
    run = await make_run(initial_cash="1234.56")
    point = await record_close(run, date=DAY, timestamp=CLOSE, prices={})
    assert (point.value, point.cash) == (Decimal("1234.56"), Decimal("1234.56"))


async def test_concurrent_buys_on_one_run_never_overspend(make_run):
    run = await make_run()  # 10000.00 buys floor(10000 / 2438.50) = 4 lots of 10 AAPL at 243.85
    results = await asyncio.gather(*(buy(run, "AAPL", 10, "243.85") for _ in range(20)), return_exceptions=True)
    unexpected = [r for r in results if not isinstance(r, (Position, TradeRefused))]
    assert not unexpected, unexpected
    filled = [r for r in results if isinstance(r, Position)]
    assert len(filled) == int(Decimal("10000.00") // Decimal("2438.50")) == 4
    assert all("Not enough cash" in str(r) for r in results if isinstance(r, TradeRefused))
    assert sorted(p.action_id for p in filled) == [1, 2, 3, 4]
    assert await action_ids(run) == [1, 2, 3, 4]
    cash = await Position.filter(run_id=run.id).order_by("action_id").values_list("cash", flat=True)
    assert cash == [Decimal("10000") - k * Decimal("2438.50") for k in range(1, 5)]
    assert all(c >= 0 for c in cash)
    assert await current_portfolio(run) == Portfolio(cash=Decimal("246.00"), holdings={"AAPL": 40})
    assert (await Run.get(id=run.id)).total_trades == 4


async def test_concurrent_trades_and_no_trades_keep_action_ids_contiguous(make_run):
    run = await make_run(initial_cash="1000000")
    steps = [buy(run, "MSFT", 1, "10") if i % 2 else record_no_trade(run, date=DAY, timestamp=OPEN) for i in range(30)]
    results = await asyncio.gather(*steps)
    assert sorted(p.action_id for p in results) == list(range(1, 31))
    assert await current_portfolio(run) == Portfolio(cash=Decimal("999850"), holdings={"MSFT": 15})


async def test_concurrent_recordings_of_one_close_leave_a_single_point(make_run):
    run = await make_run()
    await buy(run, "AAPL", 10, "100")
    points = await asyncio.gather(
        *(record_close(run, date=DAY, timestamp=CLOSE, prices={"AAPL": Decimal(100 + i)}) for i in range(10))
    )
    assert len({p.id for p in points}) == 1
    assert await EquityPoint.filter(run_id=run.id).count() == 1
