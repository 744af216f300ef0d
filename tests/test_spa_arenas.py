"""Arenas in the app, in Chromium, on the test bars: an arena started from the arenas page (its rules checked
on the page and by the server), followed live to its end through a dropped connection (resumed with afterSeq)
with its standings (fees, tokens, excess over both baselines, the run that had external tools marked) and
every run's curve beside the baselines, read by keyboard; a run of it against the market; the arenas list;
deleting it. And a running arena cancelled after a confirmation."""

from __future__ import annotations

import re

import pytest
import pytest_asyncio

from tests.support import price_fixtures as px
from tests.support.external_mcp import research_configured
from tests.support.spa import DroppingProxy, check_page, expect, needs_chromium, no_page_errors, sign_in
from tests.test_runs import make_model

pytestmark = [needs_chromium, pytest.mark.database_independent]

DROP_AFTER_EVENTS = 5
STANDINGS = """query($id: ID!) { arena(id: $id) { status standings { rank modelName totalReturn totalFees
  inputTokens outputTokens run { id usedExternalTools } } } }"""
RENAME = "mutation($id: ID!, $input: UpdateModelInput!) { updateModel(id: $id, input: $input) { id } }"
START_ARENA = "mutation($input: StartArenaInput!) { startArena(input: $input) { id } }"


@pytest_asyncio.fixture
async def research(tmp_path):
    async with research_configured(tmp_path) as server:
        yield server


async def named_model(api, user, name: str, tickers=(px.SYMBOL, px.OTHER), **changes) -> str:
    model_id = await make_model(api, user, tickers=tickers, ai_model=changes.pop("ai_model", "local/buy-and-hold"))
    await api.data(RENAME, {"id": model_id, "input": {"name": name, **changes}}, token=user.token)
    return model_id


async def test_an_arena_is_started_followed_to_its_end_and_ranked_against_the_baselines(
    server_url, api, market, browser, user, research
):
    days = px.trading_days()
    await named_model(api, user, "Both", costs={"commissionFixed": 1})
    await named_model(api, user, "One", tickers=(px.SYMBOL,), extraTools=["research"])
    page = await browser.new_page()
    proxy = DroppingProxy(DROP_AFTER_EVENTS, field="arenaEvents")
    await page.route_web_socket("**/graphql", proxy.route)
    await sign_in(page, server_url, user.email, user.password, path="/arenas")
    await expect(page.get_by_text("No arenas yet.")).to_be_visible()

    # Checked on the page first: a name, two models, dates.
    await page.get_by_label("Name").fill("January")
    await page.get_by_label(re.compile("^ Both ")).check()
    await page.get_by_role("button", name="Start arena").click()
    await expect(page.locator('[data-field="modelIds"] .field-error')).to_have_text("Choose 2 to 20 models.")
    await page.get_by_label(re.compile("^ One ")).check()
    await page.get_by_label("Start date").fill(days[0].isoformat())
    await page.get_by_label("End date").fill(days[-1].isoformat())
    # Then by the server: an index without prices is refused beside its field.
    await page.get_by_label("Index").fill("NOPRICES")
    await page.get_by_role("button", name="Start arena").click()
    await expect(page.locator('[data-field="benchmarkSymbol"] .field-error')).to_contain_text("BAD_USER_INPUT")
    await page.get_by_label("Index").fill(px.OTHER)
    await page.get_by_role("button", name="Start arena").click()
    await expect(page).to_have_url(re.compile(rf"{server_url}/app/arenas/[^/]+$"))
    arena_id = page.url.rsplit("/", 1)[1]

    await expect(page.locator("#arena-status")).to_have_text("Completed", timeout=90_000)
    arena = (await api.data(STANDINGS, {"id": arena_id}, token=user.token))["arena"]
    rows = page.locator("#arena-standings tbody tr")
    await expect(rows).to_have_count(2)
    headers = await page.locator("#arena-standings thead th").all_text_contents()
    assert headers == [
        "Rank", "Model", "AI model", "Status", "Return", "Excess over buy and hold", f"Excess over {px.OTHER}",
        "Sharpe", "Max drawdown", "Trades", "Fees", "LLM calls", "Tokens in / out",
    ]  # fmt: skip
    for row, standing in zip(await rows.all(), arena["standings"], strict=True):
        cells = row.locator("td")
        await expect(cells.first).to_have_text(str(standing["rank"]))
        await expect(row.get_by_role("link", name=f"Open the run of {standing['modelName']}")).to_be_visible()
        await expect(cells.nth(9)).to_have_text(f"{standing['totalFees']:.2f}")
        await expect(cells.nth(11)).to_have_text(f"{standing['inputTokens']:,} / {standing['outputTokens']:,}")
        marked = row.locator("th .badge.external")
        await expect(marked).to_have_count(1 if standing["run"]["usedExternalTools"] else 0)
    assert {s["modelName"]: s["run"]["usedExternalTools"] for s in arena["standings"]} == {"Both": False, "One": True}
    assert {s["modelName"]: s["totalFees"] for s in arena["standings"]}["Both"] > 0
    baseline = f"Buy and hold {px.SYMBOL}, {px.OTHER} (equal weight)"
    await expect(page.locator("#arena-baselines")).to_contain_text(baseline)
    # Both runs and both baselines, each as its return since the start; the keyboard reads every line.
    await expect(page.locator(".chart svg path.series-line")).to_have_count(4)
    await expect(page.locator(".chart-legend li.baseline")).to_have_count(2)
    await expect(page.locator(".chart-legend li.baseline").first).to_have_text(baseline)
    await page.get_by_role("img", name=re.compile("Returns in the arena January")).focus()
    await page.keyboard.press("End")
    readout = await page.locator(".chart-readout").text_content()
    assert readout.startswith(f"{days[-1]}: ") and all(name in readout for name in ("Both +", "One +", baseline))
    await expect(page.get_by_role("button", name="Cancel arena")).to_be_hidden()

    # The first connection was cut after a few events; the page went on after them on the second.
    assert proxy.dropped and proxy.connections >= 2
    arena_subscribes = [s for s in proxy.subscribes if "arenaEvents" in s["query"]]
    assert [(s["connection"], s["variables"]["afterSeq"]) for s in arena_subscribes][:2] == [
        (1, 0), (2, DROP_AFTER_EVENTS),
    ]  # fmt: skip
    await check_page(page, "arena")

    # A run of the arena: its page links back and compares it with its baselines.
    winner = arena["standings"][0]
    await page.get_by_role("link", name=f"Open the run of {winner['modelName']}").click()
    await expect(page).to_have_url(f"{server_url}/app/runs/{winner['run']['id']}")
    await expect(page.get_by_role("link", name="January")).to_be_visible()
    relative = page.get_by_role("region", name="Against the market")
    await expect(relative.locator("tbody tr")).to_have_count(2)
    await check_page(page, "run-against-the-market")

    await page.get_by_role("link", name="January").click()
    await page.get_by_role("link", name="Arenas", exact=True).first.click()
    listed = page.get_by_role("region", name="Your arenas").locator("tbody tr")
    await expect(listed).to_have_count(1)
    await expect(listed.first).to_contain_text(f"January{days[0]} – {days[-1]}Completed2{winner['modelName']}")
    await check_page(page, "arenas")

    await listed.first.get_by_role("link", name="January").click()
    await page.get_by_role("button", name="Delete arena").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete arena").click()
    await expect(page).to_have_url(f"{server_url}/app/arenas")
    await expect(page.get_by_text("No arenas yet.")).to_be_visible()
    no_page_errors(browser)


async def test_a_running_arena_is_cancelled_after_a_confirmation(server_url, api, market, browser, user, remote_llm):
    remote_llm.delay_seconds = 0.5  # each LLM call takes a while: the arena is still going when cancelled
    days = px.trading_days()
    models = [await named_model(api, user, name, ai_model="openai/gpt-5") for name in ("Slow A", "Slow B")]
    arena_id = (
        await api.data(
            START_ARENA,
            {"input": {"name": "Slow", "modelIds": models, "startDate": days[0].isoformat(),
                       "endDate": days[-1].isoformat()}},
            token=user.token,
        )
    )["startArena"]["id"]  # fmt: skip
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password, path=f"/arenas/{arena_id}")
    await expect(page.locator("#arena-status")).to_have_text("Running", timeout=30_000)
    await expect(page.locator("#arena-standings .run-progress").first).to_have_text(re.compile(r"^\d+/\d+$"))
    await expect(page.get_by_role("button", name="Delete arena")).to_be_hidden()

    await page.get_by_role("button", name="Cancel arena").click()
    dialog = page.get_by_role("dialog", name="Cancel the arena Slow?")
    await dialog.get_by_role("button", name="Keep it running").click()
    await expect(dialog).to_have_count(0)
    await expect(page.locator("#arena-status")).to_have_text("Running")
    await page.get_by_role("button", name="Cancel arena").click()
    await dialog.get_by_role("button", name="Cancel arena").click()
    await expect(page.locator("#arena-status")).to_have_text("Cancelled", timeout=30_000)
    await expect(page.locator("#arena-standings tbody tr")).to_have_count(2)
    await expect(page.locator("#arena-standings tbody tr").first).to_contain_text("Cancelled")
    await expect(page.get_by_role("button", name="Delete arena")).to_be_visible()
    await check_page(page, "arena-cancelled")
    no_page_errors(browser)
