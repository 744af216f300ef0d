"""Driving the single-page app in Debian's Chromium (/usr/bin/chromium) with Playwright: the browser
fixtures, signing in through the app, and the checks every page gets (no horizontal scroll at 390 px,
an accessible name on every control, screenshots at desktop and phone sizes in tests/artifacts/)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import pytest_asyncio

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE_WIDTH = 390
PHONE = {"width": PHONE_WIDTH, "height": 844}
# Roles a person operates; each needs a name a screen reader can say.
NAMED_ROLES = {
    "button", "link", "textbox", "searchbox", "combobox", "listbox", "checkbox", "radio", "spinbutton",
    "slider", "switch", "tab", "menuitem", "DisclosureTriangle", "img", "image", "dialog",
}  # fmt: skip

try:
    from playwright import async_api as playwright_api
except ImportError:  # pragma: no cover - the test extra installs it
    playwright_api = None

needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK) or playwright_api is None,
    reason=f"the single-page app tests need Debian's chromium at {CHROMIUM} (`make browser` installs it as root) "
    "and the playwright package (pip install -e '.[test]'); no browser is ever downloaded",
)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium():
    """One Chromium for the session; each test gets its own context (its own storage, like a new profile)."""
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium):
    """A fresh browser context at desktop size; it records every script error its pages raise."""
    context = await chromium.new_context(viewport=DESKTOP, locale="en-US", accept_downloads=True)
    context.page_errors = []
    context.on("weberror", lambda error: context.page_errors.append(str(error.error)))
    try:
        yield context
    finally:
        await context.close()


def expect(target):
    return playwright_api.expect(target)


async def sign_in(page, server_url: str, email: str, password: str, path: str = "/models") -> None:
    """Opens the app at `path` signed out, signs in on the page it shows, and lands back on `path`."""
    await page.goto(f"{server_url}/app{path}")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page).to_have_url(re.compile(re.escape(f"{server_url}/app{path.split('?')[0]}")))


async def stored_token(page) -> str | None:
    return await page.evaluate("localStorage.getItem('aibt.token')")


async def unnamed_controls(page) -> list[str]:
    """Controls with no accessible name, as Chromium computes names for screen readers."""
    cdp = await page.context.new_cdp_session(page)
    try:
        tree = await cdp.send("Accessibility.getFullAXTree")
    finally:
        await cdp.detach()
    problems = []
    for node in tree["nodes"]:
        role = node.get("role", {}).get("value")
        if node.get("ignored") or role not in NAMED_ROLES:
            continue
        if not str(node.get("name", {}).get("value") or "").strip():
            problems.append(f"{role} (backend node {node.get('backendDOMNodeId')})")
    return problems


async def check_page(page, name: str) -> None:
    """Every page's checks: named controls, and at 1280 and 390 px a screenshot; at 390 px no
    horizontal scroll. The viewport is desktop-sized again afterwards."""
    await page.wait_for_load_state("networkidle")
    assert await unnamed_controls(page) == [], f"{name}: controls without an accessible name"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}-desktop.png"), full_page=True)
    await page.set_viewport_size(PHONE)
    try:
        await page.wait_for_timeout(150)  # the chart follows its box's new width
        width = await page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{name}: the page scrolls sideways at {PHONE_WIDTH} px ({width} px wide)"
        assert await unnamed_controls(page) == [], f"{name} at {PHONE_WIDTH} px: controls without an accessible name"
        await page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
    finally:
        await page.set_viewport_size(DESKTOP)


def no_page_errors(context) -> None:
    assert context.page_errors == [], context.page_errors


class DroppingProxy:
    """Routes a page's websockets to the server; cuts the first connection after a few events of `field`
    (runEvents, priceFetchEvents, ...), the way a network drop or a server restart would (close code 1012)."""

    def __init__(self, drop_after_events: int, field: str = "runEvents") -> None:
        self.drop_after_events = drop_after_events
        self.field = field
        self.connections = 0
        self.subscribes: list[dict] = []
        self.dropped = False

    def route(self, ws) -> None:
        self.connections += 1
        number = self.connections
        server = ws.connect_to_server()
        delivered = 0

        def from_page(message) -> None:
            data = json.loads(message)
            if data.get("type") == "subscribe":
                self.subscribes.append({"connection": number, **data["payload"]})
            server.send(message)

        async def from_server(message) -> None:
            nonlocal delivered
            if self.dropped and number == 1:
                return
            ws.send(message)
            data = json.loads(message)
            if data.get("type") == "next" and self.field in (data["payload"].get("data") or {}):
                delivered += 1
                if number == 1 and delivered == self.drop_after_events:
                    self.dropped = True
                    await server.close()
                    await ws.close(code=1012, reason="Service restart")

        ws.on_message(from_page)
        server.on_message(from_server)
