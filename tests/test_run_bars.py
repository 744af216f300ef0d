"""The bars a run's tools keep between calls (tools/run_bars.py) are what the database shows at each clock:
a later step sees its new bars, and nothing after the clock is read or shown, even after the clock moved."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from db_models.market import PriceBar, PriceInterval
from db_models.runs import Run, TradingMode
from tests.support import price_fixtures as px
from tests.support.tool_servers import create_running_run
from tools.market_view import MarketView

DAYS = px.trading_days()
TICKERS = [px.SYMBOL, px.OTHER, "NOBARS"]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bars(server_url):
    async with px.test_bars():
        yield


async def view_at(run_id: int, clock) -> MarketView:
    await Run.filter(id=run_id).update(clock_at=clock)
    return MarketView(await Run.get(id=run_id))


async def read_anew(view: MarketView, interval: PriceInterval, limit: int) -> dict:
    """The same bars read from the database alone, as a run that kept nothing would see them."""
    return {symbol: await view.bars(symbol, interval, limit) for symbol in TICKERS}


async def test_a_daily_run_sees_each_steps_new_bars_and_none_after_its_clock(settings, bars):
    run = (await create_running_run(settings, clock_at=px.session_open(DAYS[3]), allowed_tickers=[px.SYMBOL])).run
    for day, limit in [(3, 2), (4, 2), (5, 6), (6, 1), (9, 25), (10, 3), (10, 30)]:
        view = await view_at(run.id, px.session_open(DAYS[day]))
        kept = await view.bars_of(TICKERS, PriceInterval.DAY, limit)
        assert kept == await read_anew(view, PriceInterval.DAY, limit)
        latest = kept[px.SYMBOL][-1]
        assert latest.trade_date == DAYS[day] and latest.open == px.daily_open(day)
        assert latest.close is latest.high is latest.low is None  # today's bar: its open only


async def test_an_intraday_run_sees_bars_up_to_each_decision_bar(settings, bars):
    run = (
        await create_running_run(
            settings,
            clock_at=px.hour_start(10),
            allowed_tickers=[px.SYMBOL],
            mode=TradingMode.INTRADAY,
            bar_interval=PriceInterval.HOUR,
            symbol=px.SYMBOL,
            date=px.HOURLY_DATE,
        )
    ).run
    for hour in (10, 11, 13, 15):
        view = await view_at(run.id, px.hour_start(hour))
        kept = await view.bars_of(TICKERS, PriceInterval.HOUR, 4)
        assert kept == await read_anew(view, PriceInterval.HOUR, 4)
        assert [b.close for b in kept[px.SYMBOL]][-1] == px.hourly_close(hour)


async def test_a_clock_moved_back_shows_nothing_read_after_it(settings, bars):
    run = (await create_running_run(settings, clock_at=px.session_open(DAYS[12]), allowed_tickers=[px.SYMBOL])).run
    await (await view_at(run.id, px.session_open(DAYS[12]))).bars_of(TICKERS, PriceInterval.DAY, 10)
    view = await view_at(run.id, px.session_open(DAYS[5]))
    kept = await view.bars_of(TICKERS, PriceInterval.DAY, 10)
    assert kept == await read_anew(view, PriceInterval.DAY, 10)
    assert max(b.trade_date for b in kept[px.SYMBOL]) == DAYS[5]


@pytest.mark.parametrize("first_limit", [1, 3])
async def test_asking_for_more_bars_than_kept_reads_them(settings, bars, first_limit):
    run = (await create_running_run(settings, clock_at=px.session_open(DAYS[15]), allowed_tickers=[px.SYMBOL])).run
    view = await view_at(run.id, px.session_open(DAYS[15]))
    await view.bars_of(TICKERS, PriceInterval.DAY, first_limit)
    more = await view.bars_of(TICKERS, PriceInterval.DAY, 12)
    assert more == await read_anew(view, PriceInterval.DAY, 12) and len(more[px.OTHER]) == 12


async def test_runs_keep_their_bars_apart(settings, bars):
    early = (await create_running_run(settings, clock_at=px.session_open(DAYS[4]), allowed_tickers=[px.SYMBOL])).run
    late = (await create_running_run(settings, clock_at=px.session_open(DAYS[14]), allowed_tickers=[px.SYMBOL])).run
    await (await view_at(late.id, px.session_open(DAYS[14]))).bars_of(TICKERS, PriceInterval.DAY, 5)
    kept = await (await view_at(early.id, px.session_open(DAYS[4]))).bars_of(TICKERS, PriceInterval.DAY, 5)
    assert max(b.trade_date for b in kept[px.SYMBOL]) == DAYS[4]
    assert await PriceBar.filter(symbol=px.SYMBOL, interval=PriceInterval.DAY).count() == len(DAYS)


def test_a_runs_kept_bars_serve_calls_from_another_event_loop():
    """A run whose tools come to be served by another event loop of the process (asyncio locks belong to one)
    still gets its bars, with concurrent calls in each loop."""
    from datetime import UTC, datetime

    from tools.run_bars import RunBars

    kept, clock, reads = RunBars(PriceInterval.DAY), datetime(2025, 1, 15, 14, 30, tzinfo=UTC), []

    async def read(symbols: list[str], limit: int) -> dict:
        reads.append(symbols)
        await asyncio.sleep(0)  # the other call of the step waits on the lock meanwhile
        return {symbol: [(symbol, clock)] for symbol in symbols}

    async def two_calls(ticker: str) -> list[dict]:
        return await asyncio.gather(kept.newest([ticker], 1, clock, read), kept.newest([ticker, "AAA"], 1, clock, read))

    first, second = asyncio.run(two_calls("AAA")), asyncio.run(two_calls("BBB"))
    assert first == [{"AAA": [("AAA", clock)]}] * 2
    assert second == [{"BBB": [("BBB", clock)]}, {"BBB": [("BBB", clock)], "AAA": [("AAA", clock)]}]
    assert reads == [["AAA"], ["BBB"]]
