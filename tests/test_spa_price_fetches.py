"""The admin's price fetch page in Chromium, against `aibt serve` pointed at the local Alpha Vantage stand-in:
refused inputs beside their fields, a fetch started from the form and followed live (one symbol held at the
stand-in while the page shows the others' results; the websocket cut once and resumed with afterSeq), its
per-symbol results, and the jobs list. And a running fetch cancelled after a confirmation."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.conftest import PASSWORD, SIGNUP
from tests.support import databases
from tests.support.alphavantage import API_KEY, StandIn, running_alphavantage
from tests.support.fetch_jobs import FETCH_PRICES, JOB, embedded_aibt
from tests.support.graphql_client import GraphQLClient
from tests.support.processes import clean_env
from tests.support.spa import DroppingProxy, check_page, expect, needs_chromium, no_page_errors, sign_in

pytestmark = [needs_chromium, pytest.mark.database_independent]

ADMIN = "fetcher@example.com"
DROP_AFTER_EVENTS = 3


@pytest_asyncio.fixture
async def alphavantage() -> AsyncIterator[StandIn]:
    async with running_alphavantage() as stand_in:
        yield stand_in


@pytest_asyncio.fixture
async def served(alphavantage, tmp_path):
    """`aibt serve` on a fresh database, with the stand-in's key and address, and an admin by the approved list."""
    approved = tmp_path / "approved.json"
    approved.write_text(json.dumps({"admins": [ADMIN], "users": []}))
    database_url, pg_name = await databases.create_database(tmp_path)
    env = clean_env(
        DATABASE_URL=database_url,
        AIBT_DATA_DIR=str(tmp_path / "data"),
        AIBT_APPROVED_USERS=str(approved),
        ALPHAVANTAGE_API_KEY=API_KEY,
        AIBT_ALPHAVANTAGE_URL=alphavantage.url,
        AIBT_ALPHAVANTAGE_CALLS_PER_MINUTE="60000",
        AIBT_ALPHAVANTAGE_THROTTLE_WAIT_SECONDS="0.01",
    )
    try:
        async with embedded_aibt(env, tmp_path) as server:
            yield server
    finally:
        await databases.drop_database(pg_name)


async def test_an_admin_fetches_prices_and_follows_the_job_live(alphavantage, served, browser):
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        api = GraphQLClient(http)
        token = (await api.data(SIGNUP, {"email": ADMIN, "password": PASSWORD}))["signup"]["token"]
        page = await browser.new_page()
        proxy = DroppingProxy(DROP_AFTER_EVENTS, field="priceFetchEvents")
        await page.route_web_socket("**/graphql", proxy.route)
        await sign_in(page, served.url, ADMIN, PASSWORD, path="/admin/price-fetches")
        admin_pages = page.get_by_role("navigation", name="Admin pages")
        await expect(admin_pages.get_by_role("link", name="Price fetches")).to_have_attribute("aria-current", "page")
        await expect(page.get_by_text("No fetches yet.")).to_be_visible()
        await check_page(page, "admin-price-fetches-empty")

        # Refused: nothing named (caught by the app), a malformed symbol and a backwards range (by the server).
        start = page.get_by_role("button", name="Start fetch")
        symbols = page.get_by_label("Symbols")
        await start.click()
        await expect(page.locator('[data-field="symbols"] .field-error')).to_have_text(
            "Name at least one symbol, or add the Nasdaq-100."
        )
        await symbols.fill("AAPL, A$B")
        await start.click()
        await expect(page.locator('[data-field="symbols"] .field-error')).to_contain_text("(BAD_USER_INPUT · request ")
        await expect(symbols).to_be_focused()
        await symbols.fill("aapl, ZZZZ, NVDA")
        await page.get_by_label("From (optional)").fill("2025-10-02")
        await page.get_by_label("To (optional)").fill("2025-10-01")
        await start.click()
        await expect(page.locator('[data-field="from"] .field-error')).to_contain_text("from must not be after to.")
        assert alphavantage.requests == []

        # A fetch: NVDA's answers wait at the stand-in, so the page shows the job part done, live.
        release = alphavantage.hold("NVDA")
        await page.get_by_label("From (optional)").fill("2025-06-10")
        await page.get_by_label("To (optional)").fill("2025-10-29")
        await page.get_by_label("Interval").select_option("DAY")
        await start.click()
        await expect(page).to_have_url(re.compile(rf"{re.escape(served.url)}/app/admin/price-fetches\?job=.+"))
        job = page.get_by_role("region", name="This fetch")
        await asyncio.wait_for(alphavantage.arrived["NVDA"].wait(), timeout=30)
        await expect(job.locator("#fetch-status")).to_have_text("Running")
        await expect(job.locator("#fetch-progress-text")).to_have_text("2 / 3 symbols")
        results = job.locator("#fetch-results tbody tr")
        await expect(results).to_have_count(2)
        await expect(results.nth(0)).to_contain_text("AAPLFetched")
        await expect(results.nth(1)).to_contain_text("ZZZZFailed")
        await check_page(page, "admin-price-fetch-running")
        release.set()

        await expect(job.locator("#fetch-status")).to_have_text("Completed", timeout=30_000)
        await expect(job.locator("#fetch-progress-text")).to_have_text("3 / 3 symbols")
        await expect(results).to_have_count(3)
        await expect(results.nth(2)).to_contain_text("NVDAFetched")
        log = job.get_by_role("log", name="Events of this fetch")
        await expect(log.locator("li").first).to_contain_text("Completed")
        jobs = page.get_by_role("region", name="Jobs")
        await expect(jobs.locator("tbody tr")).to_have_count(1)
        await expect(jobs.locator("tbody tr")).to_contain_text("AAPL, ZZZZ, NVDA")
        await expect(jobs.locator("tbody tr")).to_contain_text("Daily bars2025-06-10 – 2025-10-29Completed 3 / 3")

        # What the page shows is what the API stored; the cut connection resumed after the events it had.
        job_id = page.url.split("job=", 1)[1]
        stored = (await api.data(JOB, {"id": job_id.replace("%3D", "=")}, token=token))["priceFetchJob"]
        assert [(r["symbol"], r["status"]) for r in stored["results"]] == [
            ("AAPL", "FETCHED"), ("ZZZZ", "FAILED"), ("NVDA", "FETCHED"),
        ]  # fmt: skip
        for result in stored["results"]:
            row = results.filter(has_text=result["symbol"])
            await expect(row.locator("td").nth(1)).to_have_text(str(result["barsAdded"]))
        assert proxy.dropped and proxy.connections >= 2
        fetch_subscribes = [s for s in proxy.subscribes if "priceFetchEvents" in s["query"]]
        assert [(s["connection"], s["variables"]["afterSeq"]) for s in fetch_subscribes][:2] == [
            (1, 0), (2, DROP_AFTER_EVENTS),
        ]  # fmt: skip
        await check_page(page, "admin-price-fetch-done")
    no_page_errors(browser)


async def test_a_running_fetch_is_cancelled_after_a_confirmation_and_the_next_one_may_start(
    alphavantage, served, browser
):
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        api = GraphQLClient(http)
        token = (await api.data(SIGNUP, {"email": ADMIN, "password": PASSWORD}))["signup"]["token"]
        release = alphavantage.hold("MSFT")
        asked = {"symbols": ["AAPL", "MSFT", "NVDA"], "from": "2025-06-10", "to": "2025-10-29"}
        job_id = (await api.data(FETCH_PRICES, {"input": asked}, token=token))["fetchPrices"]["id"]
        await asyncio.wait_for(alphavantage.arrived["MSFT"].wait(), timeout=30)
        page = await browser.new_page()
        await sign_in(page, served.url, ADMIN, PASSWORD, path=f"/admin/price-fetches?job={job_id}")
        job = page.get_by_role("region", name="This fetch")
        await expect(job.locator("#fetch-status")).to_have_text("Running")
        await expect(job.locator("#fetch-progress-text")).to_have_text("1 / 3 symbols")

        cancel = job.get_by_role("button", name="Cancel fetch")
        await cancel.click()
        dialog = page.get_by_role("dialog", name="Cancel this price fetch?")
        await expect(dialog).to_contain_text("the one in progress writes nothing")
        await dialog.get_by_role("button", name="Keep it running").click()
        await expect(dialog).to_have_count(0)
        assert (await api.data(JOB, {"id": job_id}, token=token))["priceFetchJob"]["cancelRequested"] is False
        await cancel.click()
        await dialog.get_by_role("button", name="Cancel fetch").click()
        await expect(job.locator("#fetch-cancelling")).to_have_text(
            "Cancelling: the worker stops at its next call to Alpha Vantage."
        )
        await expect(cancel).to_be_hidden()
        await check_page(page, "admin-price-fetch-cancelling")
        release.set()  # the call in hand is answered; nothing after it is asked

        await expect(job.locator("#fetch-status")).to_have_text("Cancelled", timeout=30_000)
        await expect(job.locator("#fetch-cancelling")).to_be_hidden()
        await expect(job.locator("#fetch-error")).to_have_text("The fetch stopped: Cancelled by an admin.")
        results = job.locator("#fetch-results tbody tr")
        await expect(results).to_have_count(3)
        for row, text in zip(range(3), ("AAPLFetched", "MSFTNot fetched", "NVDANot fetched"), strict=True):
            await expect(results.nth(row)).to_contain_text(text)
        log = job.get_by_role("log", name="Events of this fetch")
        await expect(log.locator("li").first).to_contain_text("Cancelled")
        jobs = page.get_by_role("region", name="Jobs")
        await expect(jobs.locator("tbody tr").first).to_contain_text("Cancelled 3 / 3")
        await check_page(page, "admin-price-fetch-cancelled")
        assert alphavantage.asked(symbol="NVDA") == [] and len(alphavantage.asked(symbol="MSFT")) == 1

        # The slot is free: a fetch started from the form runs.
        await page.get_by_role("textbox", name="Symbols").fill("AMZN")
        await page.get_by_label("From (optional)").fill("2025-06-10")
        await page.get_by_label("To (optional)").fill("2025-10-29")
        await page.get_by_role("button", name="Start fetch").click()
        await expect(page).not_to_have_url(re.compile(re.escape(job_id)))
        await expect(job.locator("#fetch-status")).to_have_text("Completed", timeout=30_000)
        await expect(jobs.locator("tbody tr")).to_have_count(2)
    no_page_errors(browser)
