"""Arenas in the app, in Chromium, on the test bars: an arena started from the arenas page (its rules checked
on the page and by the server), followed live to its end with its standings and every run's curve beside the
baseline; a run of it against the market; the arenas list; deleting it."""

from __future__ import annotations

import re

from tests.support import price_fixtures as px
from tests.support.spa import check_page, expect, needs_chromium, no_page_errors, sign_in
from tests.test_runs import make_model

pytestmark = needs_chromium

STANDINGS = """query($id: ID!) { arena(id: $id) { status standings { rank modelName totalReturn run { id } } } }"""


async def test_an_arena_is_started_followed_to_its_end_and_ranked_against_the_baseline(
    server_url, api, market, browser, user
):
    days = px.trading_days()
    both = await make_model(api, user)  # local/buy-and-hold of LKAH and LKBH, named "local/buy-and-hold test"
    await api.data(
        'mutation($id: ID!) { updateModel(id: $id, input: {name: "Both"}) { id } }', {"id": both}, token=user.token
    )
    one = await make_model(api, user, tickers=(px.SYMBOL,))
    await api.data(
        'mutation($id: ID!) { updateModel(id: $id, input: {name: "One"}) { id } }', {"id": one}, token=user.token
    )
    page = await browser.new_page()
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
    await page.get_by_label("Index").fill("")
    await page.get_by_role("button", name="Start arena").click()
    await expect(page).to_have_url(re.compile(rf"{server_url}/app/arenas/[^/]+$"))
    arena_id = page.url.rsplit("/", 1)[1]

    await expect(page.locator("#arena-status")).to_have_text("Completed", timeout=90_000)
    arena = (await api.data(STANDINGS, {"id": arena_id}, token=user.token))["arena"]
    rows = page.locator("#arena-standings tbody tr")
    await expect(rows).to_have_count(2)
    for row, standing in zip(await rows.all(), arena["standings"], strict=True):
        await expect(row.locator("td").first).to_have_text(str(standing["rank"]))
        await expect(row.locator("th")).to_have_text(standing["modelName"])
    baseline = f"Buy and hold {px.SYMBOL}, {px.OTHER} (equal weight)"
    await expect(page.locator("#arena-baselines")).to_contain_text(baseline)
    # Both runs and the baseline, each as its return since the start.
    await expect(page.locator(".chart svg path.series-line")).to_have_count(3)
    await expect(page.locator(".chart-legend li.baseline")).to_have_text(baseline)
    await expect(page.get_by_role("button", name="Cancel arena")).to_be_hidden()
    await check_page(page, "arena")

    # A run of the arena: its page links back and compares it with its own baseline.
    winner = arena["standings"][0]
    await page.get_by_role("link", name=f"Open the run of {winner['modelName']}").click()
    await expect(page).to_have_url(f"{server_url}/app/runs/{winner['run']['id']}")
    await expect(page.get_by_role("link", name="January")).to_be_visible()
    relative = page.get_by_role("region", name="Against the market")
    await expect(relative.locator("tbody tr")).to_have_count(1)
    await check_page(page, "run-against-the-market")

    await page.get_by_role("link", name="January").click()
    await page.get_by_role("link", name="Arenas", exact=True).first.click()
    listed = page.get_by_role("region", name="Your arenas").locator("tbody tr")
    await expect(listed).to_have_count(1)
    await expect(listed.first).to_contain_text(f"January{days[0]} – {days[-1]}Completed2{winner['modelName']}")
    await check_page(page, "arenas")

    await listed.first.get_by_role("link", name="January").click()
    await page.get_by_role("button", name="Delete arena").click()
    await page.get_by_role("button", name="Delete arena").last.click()  # the confirmation's button
    await expect(page).to_have_url(f"{server_url}/app/arenas")
    await expect(page.get_by_text("No arenas yet.")).to_be_visible()
    no_page_errors(browser)
