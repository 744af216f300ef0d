"""A run that pays costs, lives through splits and dividends and has an external tool server, in Chromium:
the run page names its costs and warns of the tools not bound to its dates; its positions show the splits
(as ratios), the dividends (per share) and each trade's fee; its chart marks them; its figures add up the
fees paid and dividends received; the run history marks the run."""

from __future__ import annotations

import re

import pytest
import pytest_asyncio

from db_models.corporate_actions import store_actions
from db_models.market import CorporateAction
from tests.support import price_fixtures as px
from tests.support.external_mcp import research_configured
from tests.support.spa import check_page, expect, needs_chromium, no_page_errors, sign_in
from tests.test_corporate_action_runs import RUN_ACTIONS

pytestmark = [needs_chromium, pytest.mark.database_independent]

DAYS = px.trading_days()
CREATE = "mutation($input: CreateModelInput!) { createModel(input: $input) { id } }"
RUN = """query($id: ID!) { run(id: $id) { status usedExternalTools performance { totalFees totalDividends }
  positions(first: 100) { edges { node { action symbol amount price fee } } } } }"""


@pytest_asyncio.fixture
async def research(tmp_path):
    """An external tool server, configured as `research` for the session's API while the test runs."""
    async with research_configured(tmp_path) as server:
        yield server


@pytest_asyncio.fixture
async def corporate_actions(market):
    """Dividends and splits of the test symbols on days of the test range (see test_corporate_action_runs)."""
    await store_actions(RUN_ACTIONS)
    try:
        yield
    finally:
        await CorporateAction.filter(source="test-run").delete()


async def test_a_run_with_costs_splits_dividends_and_external_tools_shows_them_all(
    server_url, api, browser, user, research, corporate_actions
):
    costs = {"commissionFixed": 1, "slippageBps": 10, "maxPositionWeight": 0.6}
    model_id = (
        await api.data(
            CREATE,
            {"input": {"name": "Holder with costs", "allowedTickers": [px.SYMBOL, px.OTHER],
                       "aiModel": "local/buy-and-hold", "extraTools": ["research"], "costs": costs}},
            token=user.token,
        )
    )["createModel"]["id"]  # fmt: skip
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password, path=f"/models/{model_id}")
    about = page.get_by_role("region", name="About this model")
    await expect(about).to_contain_text("External toolsresearch")
    await expect(about).to_contain_text("commission 1.00 per order · slippage 10 bp · at most 60 % in one symbol")
    await page.get_by_label("Start date").fill(DAYS[0].isoformat())
    await page.get_by_label("End date").fill(DAYS[-1].isoformat())
    await page.get_by_role("button", name="Start daily backtest").click()
    await expect(page).to_have_url(re.compile(rf"{server_url}/app/runs/[^/]+$"))
    run_id = page.url.rsplit("/", 1)[1]
    await expect(page.locator("#run-status")).to_have_text("Completed", timeout=90_000)
    run = (await api.data(RUN, {"id": run_id}, token=user.token))["run"]
    assert run["usedExternalTools"] is True

    await expect(page.locator("#run-external-tools")).to_contain_text("had the tools of research")
    await expect(page.locator("#run-costs")).to_have_text(
        "Costs and caps: commission 1.00 per order · slippage 10 bp · at most 60 % in one symbol"
    )
    performance = page.get_by_role("region", name="Performance")
    await expect(performance).to_contain_text("Fees paid2.00")
    await expect(performance).to_contain_text("Dividends received26.00")
    assert run["performance"] == {"totalFees": 2.0, "totalDividends": 26.0}

    # Splits and dividends are dots on the curve at their ex-dates; the buys keep their triangles.
    await expect(page.locator(".chart svg .marker.dividend")).to_have_count(2)
    await expect(page.locator(".chart svg .marker.split")).to_have_count(3)
    await expect(page.locator(".chart svg .marker.split title").first).to_have_text(
        f"Split 3-for-2 of {px.SYMBOL}: 50 shares held on {DAYS[5]}"
    )
    # The keyboard reads them too: the readout of the split's close names it.
    await page.get_by_role("img", name=re.compile("Equity curve of run 1")).focus()
    await page.keyboard.press("Home")
    for _ in range(5):
        await page.keyboard.press("ArrowRight")
    await expect(page.locator(".chart-readout")).to_have_text(
        re.compile(rf"^{DAYS[5]}: [\d,.]+ · Split 3-for-2 of {px.SYMBOL}: 50 shares held on {DAYS[5]}$")
    )
    buys = page.locator(".chart svg .marker.buy title")
    await expect(buys).to_have_count(2)
    assert sorted(await buys.all_text_contents()) == [
        f"Buy 4 {px.OTHER} at 1,101.10 on {DAYS[0]}, fee 1.00", f"Buy 50 {px.SYMBOL} at 100.10 on {DAYS[0]}, fee 1.00",
    ]  # fmt: skip

    # The positions: what each row says, as the API stored it.
    positions = page.get_by_role("region", name="Positions")
    rows = positions.locator("tbody tr")
    await expect(rows.first).to_be_visible()
    buy = rows.filter(has_text=f"{DAYS[0]}Buy{px.SYMBOL}")
    await expect(buy.locator("td").nth(4)).to_have_text("100.10")
    await expect(buy.locator("td").nth(5)).to_have_text("1.00")
    await expect(positions.locator('tr[data-action="DIVIDEND"]').first).to_contain_text(
        f"{DAYS[3]}Dividend{px.SYMBOL}500.37 a share—"
    )
    await expect(positions.locator('tr[data-action="SPLIT"]').first).to_contain_text(
        f"{DAYS[5]}Split{px.SYMBOL}503-for-2—"
    )
    stored = [e["node"] for e in run["positions"]["edges"]]
    assert [(n["action"], n["symbol"], n["price"]) for n in stored if n["action"] in ("SPLIT", "DIVIDEND")] == [
        ("DIVIDEND", px.SYMBOL, 0.37), ("SPLIT", px.SYMBOL, 1.5), ("DIVIDEND", px.SYMBOL, 0.1),
        ("SPLIT", px.OTHER, 2.0), ("SPLIT", px.SYMBOL, 0.25),
    ]  # fmt: skip
    await check_page(page, "run-costs")

    await page.get_by_role("link", name="Holder with costs").click()
    history = page.get_by_role("region", name="Runs")
    await expect(history.get_by_role("row", name=re.compile("Open run 1"))).to_contain_text("External tools")
    no_page_errors(browser)
