"""The admin pages in Chromium, as an admin: users and roles, every user's models, the leaderboard, the
system's status and counts, the global chat settings; and what a user who is not an admin sees."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from decimal import Decimal

import pytest

from db_models.accounts import Role, User
from db_models.runs import Run, RunStatus, TradingMode
from db_models.trading import TradingModel
from tests.support.spa import check_page, expect, needs_chromium, no_page_errors, sign_in

pytestmark = [needs_chromium, pytest.mark.database_independent]

SETTINGS = "{ globalChatSettings { instructions parameters { temperature } } }"
RESET = (
    "mutation { updateGlobalChatSettings(input: {instructions: null, parameters: {temperature: null}}) { chatModel } }"
)


async def _completed_run(owner_email: str, name: str, final_return: float) -> None:
    owner = await User.get(email=owner_email)
    model = await TradingModel.create(
        owner=owner, name=name, signature=name.lower().replace(" ", "-"), allowed_tickers=["LKAH"],
        initial_cash=Decimal("10000"), ai_model="local/momentum",
    )  # fmt: skip
    await Run.create(
        model=model, run_number=1, mode=TradingMode.DAILY, status=RunStatus.COMPLETED, final_return=final_return,
        max_drawdown=0.05, strategy_snapshot={}, start_date=dt.date(2025, 1, 2), end_date=dt.date(2025, 1, 31),
    )  # fmt: skip


async def test_an_admin_goes_through_every_admin_page(server_url, api, browser, admin, user):
    await _completed_run(user.email, "Leading model", 42.5)
    page = await browser.new_page()
    await sign_in(page, server_url, admin.email, admin.password, path="/admin")
    await expect(page).to_have_url(f"{server_url}/app/admin/users")
    pages = page.get_by_role("navigation", name="Admin pages")

    # Users and roles: find the user, promote them, then demote them again.
    row = await _find_row(page, "users", user.email)
    await row.get_by_label(f"Role of {user.email}").select_option("ADMIN")
    await _wait_for_role(user.email, Role.ADMIN)
    await row.get_by_label(f"Role of {user.email}").select_option("USER")
    await _wait_for_role(user.email, Role.USER)
    await check_page(page, "admin-users")

    await pages.get_by_role("link", name="All models").click()
    await expect(await _find_row(page, "all models", "Leading model")).to_contain_text(user.email)
    await check_page(page, "admin-models")

    await pages.get_by_role("link", name="Leaderboard").click()
    leader = page.get_by_role("row", name=re.compile("Leading model"))
    await expect(leader).to_contain_text("+4,250.00%")
    await expect(leader).to_contain_text(user.email)
    await check_page(page, "admin-leaderboard")

    await pages.get_by_role("link", name="System").click()
    status = page.get_by_role("region", name="Status")
    await expect(status).to_contain_text("Databaseok")
    await expect(page.get_by_role("region", name="Counts")).to_contain_text("Completed runs")
    await check_page(page, "admin-system")

    # Global chat settings: a refused temperature beside its field, then saved instructions.
    await pages.get_by_role("link", name="Chat settings").click()
    try:
        await page.get_by_label("Temperature", exact=True).fill("7")
        await page.get_by_role("button", name="Save chat settings").click()
        await expect(page.locator('[data-field="parameters.temperature"] .field-error')).to_contain_text("between")
        await page.get_by_label("Temperature", exact=True).fill("0.3")
        await page.get_by_label("Instructions (optional)").fill("Answer in two sentences.")
        await page.get_by_role("button", name="Save chat settings").click()
        await expect(page.get_by_text("Chat settings saved.")).to_be_visible()
        stored = (await api.data(SETTINGS, token=admin.token))["globalChatSettings"]
        assert stored == {"instructions": "Answer in two sentences.", "parameters": {"temperature": 0.3}}
        await check_page(page, "admin-chat-settings")
    finally:
        await api.data(RESET, token=admin.token)
    no_page_errors(browser)


async def _find_row(page, name: str, text: str):
    """The table row holding `text`, paging forward (the newest rows come last)."""
    row = page.get_by_role("row", name=re.compile(re.escape(text)))
    shown = page.get_by_role("navigation", name=f"Pages of {name}").locator("span")
    await expect(page.locator("tbody tr").first).to_be_visible()
    while not await row.count():
        before = await shown.text_content()
        await page.get_by_role("button", name=f"Next page of {name}").click()
        await expect(shown).not_to_have_text(before)
    return row


async def _wait_for_role(email: str, role: Role) -> None:
    for _ in range(50):
        if (await User.get(email=email)).role == role:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{email} never became {role}")


async def test_a_user_who_is_not_an_admin_sees_no_admin_page(server_url, browser, user):
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password, path="/admin/users")
    await expect(page.get_by_role("heading", name="Admins only")).to_be_visible()
    await expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")).to_have_count(0)
    no_page_errors(browser)
