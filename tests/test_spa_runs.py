"""Runs in the app, in Chromium, on the test bars: a daily backtest started from the model page and
watched live while its websocket is cut once (the app reconnects and resumes with afterSeq); the run
page's curve, drawdown, trade markers, figures, paged positions and reasoning logs; the run history's
status filter; an intraday session; cancelling and deleting runs."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from db_models.accounts import User
from db_models.runs import EquityPoint, Position, Run, RunStatus, TradingMode
from db_models.trading import TradingModel
from graphql_api.ids import to_global_id
from tests.support import price_fixtures as px
from tests.support.spa import DroppingProxy, check_page, expect, needs_chromium, no_page_errors, sign_in
from tests.test_runs import make_model, wait_finished

pytestmark = [needs_chromium, pytest.mark.database_independent]

DROP_AFTER_EVENTS = 3
RUN = """query($id: ID!) { run(id: $id) { status totalTrades usage { llmCalls }
  positions(first: 100) { totalCount edges { node { action symbol amount price } } } equityCurve { date } } }"""
RECORD = """() => {
  window.progressSeen = [];
  window.liveSeen = [];
  const live = document.querySelector('#live-state');
  new MutationObserver(() => window.liveSeen.push(live.textContent))
    .observe(live, { childList: true, characterData: true, subtree: true });
  const waitForBar = setInterval(() => {
    const bar = document.querySelector('#run-progress');
    if (!bar) return;
    clearInterval(waitForBar);
    new MutationObserver(() => window.progressSeen.push([bar.value, bar.max]))
      .observe(bar, { attributes: true, attributeFilter: ['value', 'max'] });
  }, 5);
}"""


async def test_a_daily_run_is_followed_live_through_a_dropped_connection(server_url, api, market, browser, user):
    days = px.trading_days()
    model_id = await make_model(api, user)
    proxy = DroppingProxy(DROP_AFTER_EVENTS)
    page = await browser.new_page()
    await page.route_web_socket("**/graphql", proxy.route)
    await sign_in(page, server_url, user.email, user.password, path=f"/models/{model_id}")

    # A bad range is refused beside its field; an empty date is caught before asking the server.
    await page.get_by_role("button", name="Start daily backtest").click()
    await expect(page.locator('[data-field="startDate"] .field-error')).to_have_text("Choose a start date.")
    await page.get_by_label("Start date").fill(days[5].isoformat())
    await page.get_by_label("End date").fill(days[1].isoformat())
    await page.get_by_role("button", name="Start daily backtest").click()
    await expect(page.locator('[data-field="startDate"] .field-error')).to_contain_text("(BAD_USER_INPUT · request ")

    await page.get_by_label("Start date").fill(days[0].isoformat())
    await page.get_by_label("End date").fill(days[-1].isoformat())
    await page.evaluate(RECORD)
    await page.get_by_role("button", name="Start daily backtest").click()
    await expect(page).to_have_url(re.compile(rf"{server_url}/app/runs/[^/]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    await expect(page.locator("#run-status")).to_have_text("Completed", timeout=90_000)
    await expect(page.locator("#run-progress-text")).to_have_text(f"{len(days)} / {len(days)} days · {days[-1]}")
    seen = await page.evaluate("window.progressSeen")
    assert any(0 < value < total for value, total in seen), seen  # the bar moved through the run

    # The first connection was cut after a few events; the app reconnected and resumed after them.
    assert proxy.dropped and proxy.connections >= 2
    run_subscribes = [s for s in proxy.subscribes if "runEvents" in s["query"]]
    assert [s["connection"] for s in run_subscribes][:2] == [1, 2]
    assert [s["variables"]["afterSeq"] for s in run_subscribes][:2] == [0, DROP_AFTER_EVENTS]
    live_seen = await page.evaluate("window.liveSeen")
    assert "Reconnecting…" in live_seen and live_seen.index("Reconnecting…") < len(live_seen) - 1, live_seen
    assert "Live" in live_seen[live_seen.index("Reconnecting…") :], live_seen

    # What the page shows is what the API stored.
    run = (await api.data(RUN, {"id": run_id}, token=user.token))["run"]
    assert run["status"] == "COMPLETED" and run["totalTrades"] == 2
    figures = page.locator("#run-figures")
    await expect(figures).to_contain_text("Trades2")
    await expect(figures).to_contain_text(f"LLM calls{run['usage']['llmCalls']}")
    # The run's curve and its baseline: the same cash in both tickers, fractional shares, no costs.
    await expect(page.locator(".chart svg path.series-line")).to_have_count(2)
    baseline_name = f"Buy and hold {px.SYMBOL}, {px.OTHER} (equal weight)"
    await expect(page.locator(".chart-legend li.baseline")).to_have_text(baseline_name)
    relative = page.get_by_role("region", name="Against the market")
    await expect(relative.locator("tbody tr")).to_have_count(1)
    await expect(relative.locator("tbody tr th")).to_have_text(baseline_name)
    # Buy and hold on rising test bars never falls below its peak: nothing to shade (test_spa_modules shades).
    await expect(page.locator(".chart svg path.drawdown")).to_have_count(0)
    await expect(figures).to_contain_text("Max drawdown0.00%")
    markers = page.locator(".chart svg .marker.buy title")
    await expect(markers).to_have_count(2)
    assert sorted(await markers.all_text_contents()) == [
        f"Buy 4 {px.OTHER} at 1,100.00 on {days[0]}",
        f"Buy 50 {px.SYMBOL} at 100.00 on {days[0]}",
    ]
    chart = page.get_by_role("img", name=re.compile("Equity curve of run 1"))
    await chart.focus()
    await page.keyboard.press("Home")
    await expect(page.locator(".chart-readout")).to_contain_text(f"{days[0]}: ")
    await expect(page.get_by_role("region", name="Performance")).to_contain_text("Trading days22")
    await check_page(page, "run")

    # Positions, a page at a time.
    total = run["positions"]["totalCount"]
    positions = page.get_by_role("region", name="Positions")
    await expect(positions.locator("tbody tr")).to_have_count(20)
    await expect(positions.locator("tbody tr").first).to_contain_text(f"{days[0]}Buy")
    await positions.get_by_role("button", name="Next page of positions").click()
    await expect(positions.get_by_text(f"21–{total} of {total}")).to_be_visible()
    await expect(positions.locator("tbody tr")).to_have_count(total - 20)
    await expect(positions.get_by_role("button", name="Next page of positions")).to_be_disabled()
    await positions.get_by_role("button", name="Previous page of positions").click()
    await expect(positions.get_by_text(f"1–20 of {total}")).to_be_visible()

    # The reasoning of a day: tool calls folded, opened from the keyboard; the chosen day is in the URL.
    reasoning = page.get_by_role("region", name="Reasoning")
    await expect(reasoning.get_by_label("Day", exact=True)).to_have_value(days[0].isoformat())
    call = reasoning.locator("details.tool-call").first
    await expect(call).not_to_have_attribute("open", "")
    await expect(call.get_by_text("Arguments")).to_be_hidden()
    await call.locator("summary").focus()
    await page.keyboard.press("Enter")
    await expect(call).to_have_attribute("open", "")
    await expect(call.get_by_text("Arguments")).to_be_visible()
    await reasoning.get_by_role("button", name="Next day").click()
    await expect(page).to_have_url(f"{server_url}/app/runs/{run_id}?day={days[1]}")
    await expect(reasoning.get_by_role("heading", name=f"Step of {days[1]}")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("region", name="Reasoning").get_by_label("Day", exact=True)).to_have_value(
        days[1].isoformat()
    )
    await expect(page.get_by_role("heading", name=f"Step of {days[1]}")).to_be_visible()
    no_page_errors(browser)


async def test_the_run_history_filters_by_status_and_deletes_with_confirmation(server_url, api, market, browser, user):
    model_id = await make_model(api, user)
    days = px.trading_days()
    for end in (days[2], days[4]):
        started = await api.data(
            "mutation($m: ID!, $i: DailyRunInput!) { startDailyRun(modelId: $m, input: $i) { id } }",
            {"m": model_id, "i": {"startDate": days[0].isoformat(), "endDate": end.isoformat()}},
            token=user.token,
        )
        await wait_finished(started["startDailyRun"]["id"], api, user)
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password, path=f"/models/{model_id}")
    runs = page.get_by_role("region", name="Runs")
    await expect(runs.locator("tbody tr")).to_have_count(2)
    await runs.get_by_label("Status").select_option("FAILED")
    await expect(runs.get_by_text("No failed runs.")).to_be_visible()
    await expect(page).to_have_url(f"{server_url}/app/models/{model_id}?status=FAILED")
    await page.reload()
    await expect(page.get_by_role("region", name="Runs").get_by_text("No failed runs.")).to_be_visible()
    runs = page.get_by_role("region", name="Runs")
    await runs.get_by_label("Status").select_option("COMPLETED")
    await expect(runs.locator("tbody tr")).to_have_count(2)
    await check_page(page, "model-runs")

    await runs.get_by_role("button", name="Delete run 1").click()
    await page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    await expect(runs.locator("tbody tr")).to_have_count(2)
    await runs.get_by_role("button", name="Delete run 1").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete run").click()
    await expect(runs.locator("tbody tr")).to_have_count(1)
    await expect(runs.get_by_role("link", name="Open run 2")).to_be_visible()
    no_page_errors(browser)


async def test_an_intraday_session_is_started_from_the_model_page(server_url, api, market, browser, user):
    model_id = await make_model(api, user)
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password, path=f"/models/{model_id}")
    await page.get_by_label("Intraday session").check()
    await expect(page.get_by_label("Start date")).to_be_hidden()
    await page.get_by_label("Symbol", exact=True).select_option(px.SYMBOL)
    await page.get_by_label("Date", exact=True).fill(px.HOURLY_DATE.isoformat())
    await page.get_by_label("Session", exact=True).select_option("REGULAR")
    # Measured against an index of the user's choice: one without prices that day is refused beside its field.
    await page.get_by_label("Index (optional)").fill("NOPRICES")
    await page.get_by_role("button", name="Start intraday session").click()
    await expect(page.locator('[data-field="benchmarkSymbol"] .field-error')).to_contain_text(
        "benchmarkSymbol NOPRICES has no"
    )
    await page.get_by_label("Index (optional)").fill(px.OTHER)
    await page.get_by_role("button", name="Start intraday session").click()
    await expect(page.locator("#run-status")).to_have_text("Completed", timeout=90_000)
    await expect(page.get_by_text(f"Intraday · {px.SYMBOL} {px.HOURLY_DATE} (Regular)")).to_be_visible()
    await expect(page.locator("#run-progress-text")).to_contain_text("bars")
    # The session, its symbol held, and the index.
    await expect(page.locator(".chart svg path.series-line")).to_have_count(3)
    await expect(page.locator(".chart-legend li.baseline.index")).to_have_text(re.compile(px.OTHER))
    await expect(page.get_by_role("region", name="Against the market").locator("tbody tr")).to_have_count(2)
    await expect(
        page.get_by_role("region", name="Reasoning").get_by_role("heading", name=re.compile("^Bar at "))
    ).not_to_have_count(0)
    no_page_errors(browser)


async def test_a_running_run_is_cancelled_from_its_page(server_url, api, market, browser, user, remote_llm):
    remote_llm.delay_seconds = 0.5  # each LLM call takes a while: the run is still going when cancelled
    model_id = await make_model(api, user, ai_model="openai/gpt-5")
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password, path=f"/models/{model_id}")
    days = px.trading_days()
    await page.get_by_label("Start date").fill(days[0].isoformat())
    await page.get_by_label("End date").fill(days[-1].isoformat())
    await page.get_by_role("button", name="Start daily backtest").click()
    await expect(page.locator("#run-status")).to_have_text("Running", timeout=30_000)
    await expect(page.locator("#live-state")).to_have_text("Live")
    await page.get_by_role("button", name="Cancel run").click()
    await expect(page.locator("#run-status")).to_have_text("Cancelled", timeout=30_000)
    await expect(page.get_by_role("button", name="Cancel run")).to_be_hidden()
    await expect(page.get_by_role("button", name="Delete run")).to_be_visible()
    no_page_errors(browser)


async def test_the_run_page_shades_the_drawdown_of_a_run_that_fell_below_its_peak(server_url, api, browser, user):
    """A stored run whose value rose, fell and recovered: the fall is shaded, its trades are marked."""
    owner = await User.get(email=user.email)
    model = await TradingModel.create(
        owner=owner, name="Bumpy", signature="bumpy", allowed_tickers=[px.SYMBOL], initial_cash=Decimal("10000"),
        ai_model="local/momentum",
    )  # fmt: skip
    days = px.trading_days()[:5]
    run = await Run.create(
        model=model, run_number=1, mode=TradingMode.DAILY, status=RunStatus.COMPLETED, strategy_snapshot={},
        start_date=days[0], end_date=days[-1], final_return=0.08, final_portfolio_value=10800, max_drawdown=0.0667,
    )  # fmt: skip
    for day, value in zip(days, (10000, 10500, 9800, 10200, 10800), strict=True):
        await EquityPoint.create(run=run, date=day, timestamp=px.session_open(day), value=Decimal(value), cash=0)
    for action_id, (day, action) in enumerate(((days[0], "BUY"), (days[3], "SELL")), start=1):
        await Position.create(
            run=run, action_id=action_id, date=day, timestamp=px.session_open(day), action=action, symbol=px.SYMBOL,
            amount=10, price=Decimal(100), holdings={px.SYMBOL: 10 if action == "BUY" else 0}, cash=Decimal(0),
        )  # fmt: skip
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password, path=f"/runs/{to_global_id('Run', run.id)}")
    await expect(page.locator(".chart svg .marker.buy")).to_have_count(1)  # drawn once the trades are read
    await expect(page.locator(".chart svg path.drawdown")).to_have_count(1)
    area, line = await page.evaluate(
        """() => ['path.drawdown', 'path.series-line'].map((selector) => {
          const box = document.querySelector(`.chart svg ${selector}`).getBBox();
          return { x: box.x, width: box.width, height: box.height };
        })"""
    )
    # Shaded from the peak (the second day) to the recovery (the fifth); the axis is time.
    share = (days[1] - days[0]) / (days[-1] - days[0])
    assert area["height"] > 0
    assert abs(area["x"] - (line["x"] + line["width"] * share)) <= 1
    assert abs(area["x"] + area["width"] - (line["x"] + line["width"])) <= 1
    await expect(page.locator(".chart svg .marker.buy")).to_have_count(1)
    await expect(page.locator(".chart svg .marker.sell title")).to_have_text(
        f"Sell 10 {px.SYMBOL} at 100.00 on {days[3]}"
    )
    await expect(page.locator("#run-figures")).to_contain_text("Max drawdown6.67%")
    no_page_errors(browser)
