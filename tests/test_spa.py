"""The single-page app at /app, driven in headless Chromium (Debian's /usr/bin/chromium) with playwright.

One flow through the app as a person would use it: create an account, sign out and back in, create a
model on the test bars, run it and watch the progress bar and the trades arrive live (the websocket is
dropped once mid-run and the app resumes with afterSeq), then ask the analyst and see the reply stream in.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from itertools import pairwise
from pathlib import Path

import pytest
import pytest_asyncio

from tests.support import price_fixtures as px

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
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "a long enough password"
DROP_AFTER_EVENTS = 3  # runEvents messages the first websocket delivers before it is cut

if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(
        f"{CHROMIUM} is missing: the single-page app test needs Debian's chromium package, which "
        "`make test` installs with apt-get when run as root (`apt-get install -y chromium`).",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip(
    "playwright.async_api",
    reason="the playwright package is not installed (it comes with the test extra: pip install -e '.[test]')",
)
expect = playwright_api.expect

STORED_REPLY = (
    """query($id: ID!) { conversation(id: $id) { title messages(last: 10) { edges { node { role content } } } } }"""
)
LATEST_RUN = """{ models(first: 5) { edges { node { name latestRun { id status totalTrades
  positions(first: 100) { edges { node { action symbol amount price } } } } } } } }"""
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"


@pytest_asyncio.fixture(loop_scope="session")
async def browser():
    """Chromium with a fresh, empty profile; its pages share storage as tabs do."""
    profile = tempfile.mkdtemp(prefix="aibt-chromium-")
    async with playwright_api.async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            locale="en-US",
            viewport={"width": 1280, "height": 900},
        )
        context.page_errors = []
        context.on("weberror", lambda error: context.page_errors.append(str(error.error)))
        try:
            yield context
        finally:
            await context.close()
            shutil.rmtree(profile, ignore_errors=True)


class DroppingProxy:
    """Routes the page's websockets to the server; cuts the first connection after a few runEvents."""

    def __init__(self) -> None:
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
            if data.get("type") == "next" and "runEvents" in (data["payload"].get("data") or {}):
                delivered += 1
                if number == 1 and delivered == DROP_AFTER_EVENTS:
                    self.dropped = True
                    await server.close()
                    await ws.close(code=1012, reason="Service restart")

        ws.on_message(from_page)
        server.on_message(from_server)


RECORD_PROGRESS = """() => {
  window.progressSeen = [];
  const bar = document.querySelector('#run-progress');
  new MutationObserver(() => window.progressSeen.push([bar.value, bar.max]))
    .observe(bar, { attributes: true, attributeFilter: ['value', 'max'] });
}"""
RECORD_REPLY = """() => {
  window.replySeen = [];
  const list = document.querySelector('#messages');
  new MutationObserver(() => {
    const streaming = list.querySelector('.message.streaming .text');
    if (streaming) window.replySeen.push([performance.now(), streaming.textContent]);
  }).observe(list, { childList: true, subtree: true, characterData: true });
}"""


async def test_sign_in_run_a_model_live_and_chat_in_the_browser(server_url, api, market, browser):
    email = f"spa-{uuid.uuid4().hex[:8]}@example.com"
    proxy = DroppingProxy()
    page = await browser.new_page()  # its websockets go through the proxy, which cuts the first one
    await page.route_web_socket("**/graphql", proxy.route)
    try:
        await page.goto(f"{server_url}/app")
        await expect(page).to_have_title("AIBT")

        # Sign up, sign out, a wrong password, then sign in.
        await page.get_by_role("button", name="New here? Create an account").click()
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_label("Display name (optional)").fill("Spa Tester")
        await page.get_by_role("button", name="Create account").click()
        await expect(page.locator("#session-email")).to_have_text(f"Spa Tester ({email})")
        await page.get_by_role("button", name="Sign out").click()
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill("not the password")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#auth-error")).to_contain_text("(UNAUTHENTICATED)")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#session-email")).to_contain_text(email)

        # A model on the test bars.
        await expect(page.locator("#no-models")).to_be_visible()
        await page.get_by_label("Name", exact=True).fill("Hold the test pair")
        await page.get_by_label("Tickers").fill("lkah, LKBH")
        await page.get_by_label("AI model").select_option("local/buy-and-hold")
        await page.get_by_role("button", name="Create model").click()
        await expect(page.locator("#model-table tbody tr")).to_have_count(1)
        await expect(page.locator("#model-table tbody tr")).to_contain_text("LKAH, LKBH")
        await expect(page.locator("#run-model-name")).to_contain_text("Hold the test pair")

        # A bad date range is refused with the server's message and code.
        await page.get_by_label("Start date").fill(px.trading_days()[5].isoformat())
        await page.get_by_label("End date").fill(px.trading_days()[1].isoformat())
        await page.get_by_role("button", name="Start daily run").click()
        await expect(page.locator("#run-error")).to_contain_text("(BAD_USER_INPUT)")

        # The run, followed live: progress, trades, completion; the socket is cut once on the way.
        days = px.trading_days()
        await page.get_by_label("Start date").fill(days[0].isoformat())
        await page.get_by_label("End date").fill(days[-1].isoformat())
        await page.evaluate(RECORD_PROGRESS)
        await page.get_by_role("button", name="Start daily run").click()
        await expect(page.locator("#run-status")).to_have_text("COMPLETED", timeout=90_000)
        await expect(page.locator("#run-error")).to_be_empty()
        await expect(page.locator("#run-progress-text")).to_have_text(f"{len(days)} / {len(days)} days · {days[-1]}")
        assert await page.locator("#run-progress").evaluate("bar => [bar.value, bar.max]") == [len(days), len(days)]
        seen = await page.evaluate("window.progressSeen")
        assert any(0 < value < total for value, total in seen), seen  # the bar moved through the run

        trades = page.locator("#trades tbody tr")
        await expect(trades).to_have_count(2)
        rows = sorted([await row.locator("td").all_inner_texts() for row in await trades.all()], key=lambda r: r[2])
        assert [r[1:5] for r in rows] == [["BUY", "LKAH", "50", "100.00"], ["BUY", "LKBH", "4", "1,100.00"]]
        await expect(page.locator("#run-summary")).to_contain_text("Final value")
        token = (await api.data(LOGIN, {"e": email, "p": PASSWORD}))["login"]["token"]
        [model] = [e["node"] for e in (await api.data(LATEST_RUN, token=token))["models"]["edges"]]
        run = model["latestRun"]
        assert run["status"] == "COMPLETED" and run["totalTrades"] == 2
        stored = sorted(
            (p["node"]["symbol"], p["node"]["amount"])
            for p in run["positions"]["edges"]
            if p["node"]["action"] != "NO_TRADE"
        )
        assert stored == [(px.SYMBOL, 50), (px.OTHER, 4)]
        await expect(page.locator("#model-table tbody tr")).to_contain_text("#1 completed")

        # The first connection was cut after a few events; the app reconnected and resumed after them.
        assert proxy.dropped and proxy.connections >= 2
        run_subscribes = [s for s in proxy.subscribes if "runEvents" in s["query"]]
        assert [s["connection"] for s in run_subscribes][:2] == [1, 2]
        assert run_subscribes[0]["variables"]["afterSeq"] == 0
        assert run_subscribes[1]["variables"]["afterSeq"] == DROP_AFTER_EVENTS

        # A second tab (its websockets go straight to the server) finds the session and the finished run.
        await page.close()
        page = await browser.new_page()
        await page.goto(f"{server_url}/app")
        await expect(page.locator("#session-email")).to_contain_text(email)
        await page.get_by_role("button", name="Open Hold the test pair").click()
        await expect(page.locator("#run-status")).to_have_text("COMPLETED")
        await expect(page.locator("#trades tbody tr")).to_have_count(2)
        await expect(page.locator("#run-summary")).to_contain_text("Final value")

        # The analyst: the reply streams in, then equals the stored message.
        await page.get_by_role("button", name="New conversation").click()
        await expect(page.locator("#conversation")).to_be_visible()
        conversation_id = await page.locator("#conversation-select").input_value()
        assert conversation_id
        await page.evaluate(RECORD_REPLY)
        await page.get_by_label("Message", exact=True).fill("How did my run do?")
        await page.get_by_role("button", name="Send").click()
        await expect(page.locator("#messages .message.user .text")).to_have_text("How did my run do?")
        reply = page.locator("#messages .message.assistant[data-message-id]")
        await expect(reply).to_have_count(1, timeout=60_000)
        await expect(page.locator("#chat-error")).to_be_empty()
        seen = await page.evaluate("window.replySeen")
        texts = [text for _, text in seen if text]
        assert len(set(texts)) >= 3, seen  # several partial replies were on screen
        assert all(later.startswith(earlier) for earlier, later in pairwise(texts)), texts  # each grew the last
        assert seen[-1][0] > seen[0][0]
        shown = await reply.locator(".text").inner_text()
        conversation = (await api.data(STORED_REPLY, {"id": conversation_id}, token=token))["conversation"]
        [stored_reply] = [
            e["node"]["content"] for e in conversation["messages"]["edges"] if e["node"]["role"] == "ASSISTANT"
        ]
        assert shown.strip() == stored_reply.strip() and len(stored_reply) > len(texts[0])
        assert texts[-1].strip() == stored_reply.strip()
        await expect(page.locator("#conversation-title")).to_have_text(conversation["title"])
        await expect(page.locator("#conversation-select option:checked")).to_have_text(conversation["title"])
        await expect(page.locator("#live-state")).to_have_text("live")  # still listening for replies
        assert not browser.page_errors, browser.page_errors
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "spa.png"), full_page=True)
