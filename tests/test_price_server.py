"""The price tools never show a run anything after its clock, whatever the model writes."""

from __future__ import annotations

import json
import re

import pytest
import pytest_asyncio

from db_models.market import PriceInterval
from db_models.runs import Run, RunStatus, TradingMode
from tests.support import price_fixtures as px
from tests.support.tool_servers import call_text, create_running_run, mcp_client, running_tool_servers, session_tools
from tools.market_view import MarketView

DAYS = px.trading_days()
TODAY = 9  # 2025-01-15, the day with hourly bars
assert DAYS[TODAY] == px.HOURLY_DATE


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def price_url(server_url):
    async with px.test_bars(), px.test_actions(), running_tool_servers("price") as urls:
        yield urls["price"]


@pytest_asyncio.fixture
async def daily_run(settings, price_url):
    return await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]), allowed_tickers=[px.SYMBOL])


@pytest_asyncio.fixture
async def intraday_run(settings, price_url):
    return await create_running_run(
        settings,
        clock_at=px.hour_start(12),
        allowed_tickers=[px.SYMBOL],
        mode=TradingMode.INTRADAY,
        bar_interval=PriceInterval.HOUR,
        symbol=px.SYMBOL,
        date=px.HOURLY_DATE,
    )


async def ask(url: str, credential: str | None, tool: str, **arguments) -> str:
    async with session_tools(mcp_client({"price": url}, credential), "price") as tools:
        return await call_text(tools[tool], **arguments)


def numbers(text: str) -> set[float]:
    return {float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text)}


def future_daily_values() -> set[float]:
    """Today's high, low and close and every value of later days."""
    values = {float(px.daily_close(TODAY)), float(px.daily_high(TODAY)), float(px.daily_low(TODAY))}
    for i in range(TODAY + 1, len(DAYS)):
        values |= {float(px.daily_open(i)), float(px.daily_close(i)), float(px.daily_high(i)), float(px.daily_low(i))}
    return values


async def test_a_daily_quote_is_todays_open_and_yesterdays_close(price_url, daily_run):
    answer = json.loads(await ask(price_url, daily_run.credential, "quote", symbol=px.SYMBOL))
    assert answer["open_today"] == float(px.daily_open(TODAY))
    assert answer["previous_close"] == float(px.daily_close(TODAY - 1))
    assert "close" not in {k for k in answer if k != "previous_close"}


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"bars": 500},
        {"end_date": "2099-12-31"},
        {"end_date": DAYS[-1].isoformat()},
        {"interval": "day"},
    ],
)
async def test_daily_history_stops_at_todays_open(price_url, daily_run, arguments):
    text = await ask(price_url, daily_run.credential, "price_history", symbol=px.SYMBOL, **arguments)
    bars = json.loads(text)["bars"]
    assert bars[-1]["date"] == DAYS[TODAY].isoformat()
    assert bars[-1]["open"] == float(px.daily_open(TODAY))
    assert bars[-1]["high"] is bars[-1]["low"] is bars[-1]["close"] is None
    assert bars[-2]["close"] == float(px.daily_close(TODAY - 1))
    assert not numbers(text) & future_daily_values()


async def test_an_earlier_end_date_narrows_the_window(price_url, daily_run):
    bars = json.loads(
        await ask(price_url, daily_run.credential, "price_history", symbol=px.SYMBOL, end_date=DAYS[3].isoformat())
    )["bars"]
    assert bars[-1]["date"] == DAYS[3].isoformat() and bars[-1]["close"] == float(px.daily_close(3))


@pytest.mark.parametrize("end_date", ["01/31/2025", "2025-1-31", "tomorrow", "2025-01-31T23:59:59", "99999-01-01"])
async def test_dates_in_other_formats_are_refused_and_the_clock_stays(price_url, daily_run, end_date):
    text = await ask(price_url, daily_run.credential, "price_history", symbol=px.SYMBOL, end_date=end_date)
    assert text.startswith("Refused:") and "YYYY-MM-DD" in text
    assert (await Run.get(id=daily_run.run.id)).clock_at == px.session_open(DAYS[TODAY])


async def test_hourly_bars_of_today_are_hidden_from_a_daily_run(price_url, daily_run):
    text = await ask(price_url, daily_run.credential, "price_history", symbol=px.SYMBOL, interval="HOUR", bars=50)
    assert json.loads(text)["bars"] == []


async def test_indicators_use_completed_days_only(price_url, daily_run):
    answer = json.loads(
        await ask(price_url, daily_run.credential, "indicators", symbol=px.SYMBOL, short_window=2, long_window=5)
    )
    assert answer["last_close"] == float(px.daily_close(TODAY - 1))
    expected_sma = sum(float(px.daily_close(i)) for i in range(TODAY - 5, TODAY)) / 5
    assert answer["sma_5"] == pytest.approx(expected_sma)
    assert answer["return_1"] == pytest.approx(float(px.daily_close(TODAY - 1) / px.daily_close(TODAY - 2) - 1))


async def test_too_few_bars_for_indicators_is_a_readable_refusal(settings, price_url):
    early = await create_running_run(settings, clock_at=px.session_open(DAYS[2]), allowed_tickers=[px.SYMBOL])
    text = await ask(price_url, early.credential, "indicators", symbol=px.SYMBOL)
    assert text.startswith("Refused:") and "completed bars" in text


async def test_an_intraday_run_sees_bars_up_to_its_decision_bar(price_url, intraday_run):
    text = await ask(
        price_url, intraday_run.credential, "price_history", symbol=px.SYMBOL, bars=50, end_date="2030-01-01"
    )
    bars = json.loads(text)["bars"]
    assert [b["close"] for b in bars] == [float(px.hourly_close(h)) for h in (10, 11, 12)]
    later = {
        float(px.hourly_open(h) + d)
        for h in (13, 14, 15)
        for d in (0, px.HIGH_OFFSET, -px.LOW_OFFSET, px.hourly_close(h) - px.hourly_open(h))
    }
    assert not numbers(text) & later
    quote = json.loads(await ask(price_url, intraday_run.credential, "quote", symbol=px.SYMBOL))
    assert quote["last_close"] == float(px.hourly_close(12))


async def test_an_intraday_run_sees_only_earlier_days_of_daily_bars(price_url, intraday_run):
    bars = json.loads(
        await ask(price_url, intraday_run.credential, "price_history", symbol=px.SYMBOL, interval="DAY", bars=100)
    )["bars"]
    assert bars[-1]["date"] == DAYS[TODAY - 1].isoformat()


async def test_arguments_naming_another_run_or_clock_change_nothing(settings, price_url, daily_run):
    later = await create_running_run(settings, clock_at=px.session_open(DAYS[-1]), allowed_tickers=[px.SYMBOL])
    plain = await ask(price_url, daily_run.credential, "price_history", symbol=px.SYMBOL, bars=30)
    for sneaky in (
        {"run_id": later.run.id},
        {"clock": "2025-01-31"},
        {"date": "2025-01-31"},
        {"credential": later.credential},
    ):
        try:
            text = await ask(price_url, daily_run.credential, "price_history", symbol=px.SYMBOL, bars=30, **sneaky)
        except Exception as refused:  # the tool schema may reject unknown arguments outright
            text = str(refused)
        assert text == plain or not numbers(text) & future_daily_values()


async def test_prompt_text_in_the_symbol_is_refused(price_url, daily_run):
    text = await ask(price_url, daily_run.credential, "quote", symbol="AAPL; run 7 at 2025-01-31")
    assert text.startswith("Refused:")


async def test_calls_without_a_valid_credential_of_a_running_run_are_refused(settings, price_url, daily_run):
    assert (await ask(price_url, None, "quote", symbol=px.SYMBOL)).startswith("Refused:")
    assert (await ask(price_url, "forged.token.value", "quote", symbol=px.SYMBOL)).startswith("Refused:")
    finished = await create_running_run(settings, clock_at=px.session_open(DAYS[TODAY]))
    await Run.filter(id=finished.run.id).update(status=RunStatus.COMPLETED)
    assert (await ask(price_url, finished.credential, "quote", symbol=px.SYMBOL)).startswith("Refused:")


async def test_a_user_token_is_not_a_run_credential(api, signup, price_url):
    account = await signup("tooluser")
    assert (await ask(price_url, account.token, "quote", symbol=px.SYMBOL)).startswith("Refused:")


# Several tickers in one call: each answer is the one-ticker call's, never more.


async def test_quotes_of_several_tickers_are_each_the_one_ticker_quote(price_url, daily_run, intraday_run):
    for run in (daily_run, intraday_run):
        text = await ask(price_url, run.credential, "quote", symbols=[px.SYMBOL, px.OTHER, "NOBARS"])
        quotes = json.loads(text)["quotes"]
        for ticker, listed in zip((px.SYMBOL, px.OTHER), quotes, strict=False):
            assert listed == json.loads(await ask(price_url, run.credential, "quote", symbol=ticker))
        assert quotes[2] == {"symbol": "NOBARS", "refused": "No price data for NOBARS up to now."}
        assert not reveals_the_future(text)


async def test_a_daily_quote_of_several_tickers_shows_only_todays_opens(price_url, daily_run):
    quotes = json.loads(await ask(price_url, daily_run.credential, "quote", symbols=[px.OTHER, px.SYMBOL]))["quotes"]
    assert [(q["symbol"], q["open_today"]) for q in quotes] == [
        (px.OTHER, float(px.daily_open(TODAY) + 1000)),
        (px.SYMBOL, float(px.daily_open(TODAY))),
    ]
    later = future_daily_values() | {v + 1000 for v in future_daily_values()}
    assert not numbers(json.dumps(quotes)) & later


async def test_indicators_of_several_tickers_are_each_the_one_ticker_answer(settings, price_url, daily_run):
    arguments = {"short_window": 2, "long_window": 5}
    text = await ask(price_url, daily_run.credential, "indicators", symbols=[px.SYMBOL, px.OTHER], **arguments)
    listed = json.loads(text)["indicators"]
    assert [entry["symbol"] for entry in listed] == [px.SYMBOL, px.OTHER]
    for entry in listed:
        one = await ask(price_url, daily_run.credential, "indicators", symbol=entry["symbol"], **arguments)
        assert entry == json.loads(one)
    assert listed[0]["last_close"] == float(px.daily_close(TODAY - 1))

    early = await create_running_run(settings, clock_at=px.session_open(DAYS[2]), allowed_tickers=[px.SYMBOL])
    refused = json.loads(await ask(price_url, early.credential, "indicators", symbols=[px.SYMBOL, px.OTHER]))
    assert [e["refused"] for e in refused["indicators"]] == [
        f"Only 2 completed bars of {t} so far; need 21." for t in (px.SYMBOL, px.OTHER)
    ]


@pytest.mark.parametrize("arguments", [{}, {"symbols": []}, {"symbols": ["AAPL", "not a ticker"]}])
async def test_a_call_naming_no_ticker_or_a_malformed_one_is_refused(price_url, daily_run, arguments):
    for tool in ("quote", "indicators"):
        assert (await ask(price_url, daily_run.credential, tool, **arguments)).startswith("Refused:")


@pytest.mark.parametrize("limit", [1, 2, 5, 8, 15, 100])
@pytest.mark.parametrize("interval", [PriceInterval.DAY, PriceInterval.HOUR])
async def test_bars_of_several_tickers_read_together_are_each_tickers_own(daily_run, intraday_run, limit, interval):
    for run in (daily_run.run, intraday_run.run):
        view = MarketView(await Run.get(id=run.id))
        together = await view.bars_of([px.SYMBOL, px.OTHER, "NOBARS"], interval, limit)
        assert together == {t: await view.bars(t, interval, limit) for t in (px.SYMBOL, px.OTHER, "NOBARS")}


# Splits and dividends: shown from their ex-date on, never before.

FUTURE_MARKS = (
    px.FUTURE_DIVIDEND.ex_date.isoformat(),
    px.FUTURE_SPLIT.ex_date.isoformat(),
    "7.77",
    "4-for-1",
)


def reveals_the_future(text: str) -> bool:
    return any(mark in text for mark in FUTURE_MARKS) or 4.0 in numbers(text)


def shown(action) -> dict:
    if action.ratio is not None:
        return {
            "symbol": action.symbol,
            "ex_date": action.ex_date.isoformat(),
            "kind": "SPLIT",
            "ratio": float(action.ratio),
            "words": action.ratio_words,
        }
    return {
        "symbol": action.symbol,
        "ex_date": action.ex_date.isoformat(),
        "kind": "DIVIDEND",
        "cash_per_share": float(action.amount),
    }


@pytest.mark.parametrize(
    "arguments",
    [{}, {"start_date": "2000-01-01"}, {"start_date": px.PAST_DIVIDEND.ex_date.isoformat()}],
)
async def test_the_corporate_actions_tool_shows_actions_up_to_today_and_none_after(
    price_url, daily_run, intraday_run, arguments
):
    for run in (daily_run, intraday_run):
        text = await ask(price_url, run.credential, "corporate_actions", symbol=px.SYMBOL, **arguments)
        answer = json.loads(text)
        assert answer["as_of"] == DAYS[TODAY].isoformat()
        assert answer["actions"] == [shown(px.PAST_DIVIDEND), shown(px.TODAYS_SPLIT)]
        assert not reveals_the_future(text)


async def test_asking_for_actions_from_a_later_date_shows_nothing(price_url, daily_run):
    for start in (px.FUTURE_DIVIDEND.ex_date.isoformat(), "2099-12-31"):
        text = await ask(price_url, daily_run.credential, "corporate_actions", symbol=px.SYMBOL, start_date=start)
        assert json.loads(text)["actions"] == []


@pytest.mark.parametrize(
    "arguments",
    [{}, {"bars": 500}, {"end_date": "2099-12-31"}, {"end_date": DAYS[-1].isoformat()}, {"interval": "DAY"}],
)
async def test_price_history_lists_the_actions_within_its_bars_and_none_after_the_clock(
    price_url, daily_run, intraday_run, arguments
):
    for run in (daily_run, intraday_run):
        text = await ask(price_url, run.credential, "price_history", symbol=px.SYMBOL, **arguments)
        answer = json.loads(text)
        first, last = answer["bars"][0]["date"], answer["bars"][-1]["date"]
        within = [a for a in (px.PAST_DIVIDEND, px.TODAYS_SPLIT) if first <= a.ex_date.isoformat() <= last]
        assert answer["corporate_actions"] == [shown(a) for a in within]
        assert not reveals_the_future(text)


async def test_a_window_before_an_action_does_not_list_it(price_url, daily_run):
    text = await ask(
        price_url, daily_run.credential, "price_history", symbol=px.SYMBOL, end_date=DAYS[5].isoformat(), bars=3
    )
    assert json.loads(text)["corporate_actions"] == []


async def test_the_quote_names_an_action_whose_ex_date_is_today_and_no_later_one(price_url, daily_run, intraday_run):
    for run in (daily_run, intraday_run):
        text = await ask(price_url, run.credential, "quote", symbol=px.SYMBOL)
        assert json.loads(text)["corporate_actions_today"] == [shown(px.TODAYS_SPLIT)]
        assert not reveals_the_future(text)


async def test_the_day_before_an_ex_date_shows_neither_the_action_nor_its_ratio(settings, price_url):
    yesterday = await create_running_run(
        settings, clock_at=px.session_open(DAYS[TODAY - 1]), allowed_tickers=[px.SYMBOL]
    )
    listed = json.loads(await ask(price_url, yesterday.credential, "corporate_actions", symbol=px.SYMBOL))
    assert listed["actions"] == [shown(px.PAST_DIVIDEND)]
    quote = json.loads(await ask(price_url, yesterday.credential, "quote", symbol=px.SYMBOL))
    assert "corporate_actions_today" not in quote
    history = await ask(price_url, yesterday.credential, "price_history", symbol=px.SYMBOL, end_date="2099-01-01")
    assert TODAYS_SPLIT_DATE not in history and "3-for-2" not in history


TODAYS_SPLIT_DATE = px.TODAYS_SPLIT.ex_date.isoformat()
