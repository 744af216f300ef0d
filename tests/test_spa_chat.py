"""The analyst in the app, in Chromium: a reply rendered as Markdown while HTML in it stays text and never
runs; tool calls shown as they happen; a reply stopped while it streams; conversations renamed, searched,
archived, exported and deleted with confirmation; conversations about a model and about a run."""

from __future__ import annotations

import json
import re

import pytest

from graphql_api.ids import parse_global_id
from tests.support import price_fixtures as px
from tests.support.fake_openai import Turn
from tests.support.spa import check_page, expect, needs_chromium, no_page_errors, sign_in
from tests.test_runs import make_model

pytestmark = [needs_chromium, pytest.mark.database_independent]

SETTINGS = "mutation($i: GlobalChatSettingsInput!) { updateGlobalChatSettings(input: $i) { chatModel } }"
EXPORT = "query($id: ID!) { exportConversation(id: $id, format: JSON) }"
HOSTILE_REPLY = """## Your runs

**Bold** claim, *quiet* aside and `code`.

- first point
- second point

<script>window.__xss = 1</script>
<img src="x" onerror="window.__xss = 2">
[a real link](https://example.com/report) and [a trap](javascript:window.__xss=3)

| Symbol | Return |
| --- | --- |
| LKAH | +4 % |
"""
RECORD_REPLY = """() => {
  window.replySeen = [];
  window.toolsWhileStreaming = [];
  const list = document.querySelector('.messages');
  new MutationObserver(() => {
    const streaming = list.querySelector('.message.streaming');
    if (!streaming) return;
    window.replySeen.push(streaming.querySelector('.text').textContent);
    streaming.querySelectorAll('.tool-call').forEach((el) => window.toolsWhileStreaming.push(el.textContent));
  }).observe(list, { childList: true, subtree: true, characterData: true });
}"""


async def _remote_chat(api, admin, remote_llm, reply: str, token_delay: float = 0.0):
    remote_llm.policy = lambda messages, tools: Turn(reply)
    remote_llm.token_delay_seconds = token_delay
    await api.data(SETTINGS, {"i": {"chatModel": "openai/gpt-5"}}, token=admin.token)


async def _ask(page, text: str) -> None:
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_role("button", name="Send").click()


async def test_a_markdown_reply_is_formatted_and_html_in_it_stays_text(
    server_url, api, browser, user, admin, remote_llm
):
    await _remote_chat(api, admin, remote_llm, HOSTILE_REPLY)
    try:
        page = await browser.new_page()
        await sign_in(page, server_url, user.email, user.password, path="/chat")
        await page.get_by_role("button", name="New conversation").click()
        await expect(page).to_have_url(re.compile(rf"{server_url}/app/chat/[^/?]+"))
        await _ask(page, "Summarise my runs")
        reply = page.locator(".message.assistant[data-message-id]")
        await expect(reply).to_have_count(1, timeout=30_000)
        await expect(reply.locator("h4")).to_have_text("Your runs")
        await expect(reply.locator("strong")).to_have_text("Bold")
        await expect(reply.locator("em")).to_have_text("quiet")
        await expect(reply.locator("li")).to_have_text(["first point", "second point"])
        await expect(reply.locator("table td").first).to_have_text("LKAH")
        link = reply.get_by_role("link", name="a real link")
        await expect(link).to_have_attribute("href", "https://example.com/report")
        await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
        await expect(reply.locator("a")).to_have_count(1)  # the javascript: link is plain text
        text = await reply.inner_text()
        assert "<script>window.__xss = 1</script>" in text and '<img src="x" onerror="window.__xss = 2">' in text
        assert await reply.locator("script, img, [onerror]").count() == 0
        await page.reload()
        await expect(page.locator(".message.assistant strong")).to_have_text("Bold")
        await page.wait_for_timeout(300)  # long enough for an injected handler to have fired
        assert await page.evaluate("window.__xss") is None
        await check_page(page, "chat-conversation")
        no_page_errors(browser)
    finally:
        await api.data(SETTINGS, {"i": {"chatModel": None}}, token=admin.token)


async def test_a_streaming_reply_is_stopped_and_keeps_what_was_written(
    server_url, api, browser, user, admin, remote_llm
):
    await _remote_chat(api, admin, remote_llm, "word " * 400, token_delay=0.02)
    try:
        page = await browser.new_page()
        await sign_in(page, server_url, user.email, user.password, path="/chat")
        await page.get_by_role("button", name="New conversation").click()
        await expect(page.get_by_role("log", name="Messages")).to_be_attached()
        conversation_id = page.url.rsplit("/", 1)[1]
        await page.evaluate(RECORD_REPLY)
        await _ask(page, "Tell me a long story")
        await expect(page.locator(".message.streaming .text")).to_contain_text("word word word", timeout=30_000)
        await expect(page.get_by_role("button", name="Send")).to_be_disabled()
        await page.get_by_role("button", name="Stop reply").click()
        stopped = page.locator(".message.assistant", has_text="You stopped this reply.")
        await expect(stopped).to_have_count(1, timeout=30_000)
        await expect(page.get_by_role("button", name="Stop reply")).to_be_hidden()
        await expect(page.get_by_role("button", name="Send")).to_be_enabled()
        seen = [text for text in await page.evaluate("window.replySeen") if text]
        assert len(set(seen)) >= 3, seen  # the reply grew on screen before it was stopped
        exported = json.loads((await api.data(EXPORT, {"id": conversation_id}, token=user.token))["exportConversation"])
        [stored] = [m for m in exported["messages"] if m["role"] == "ASSISTANT"]
        assert stored["cutShort"] is True and 0 < len(stored["content"].split()) < 400
        shown = await stopped.locator(".text").inner_text()
        assert shown.split() == stored["content"].split()
        no_page_errors(browser)
    finally:
        await api.data(SETTINGS, {"i": {"chatModel": None}}, token=admin.token)


async def test_conversations_are_renamed_searched_archived_exported_and_deleted(server_url, browser, user):
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password, path="/chat")
    await check_page(page, "chat")
    await page.get_by_role("button", name="New conversation").click()
    await expect(page.get_by_role("log", name="Messages")).to_be_attached()
    await page.evaluate(RECORD_REPLY)
    await _ask(page, "Which models and runs do I have?")
    reply = page.locator(".message.assistant[data-message-id]")
    await expect(reply).to_have_count(1, timeout=30_000)
    tool = reply.locator("details.tool-call")
    await expect(tool).to_have_count(1)
    await expect(tool.locator("summary")).to_contain_text("Used list_models_and_runs")
    assert any("list_models_and_runs" in text for text in await page.evaluate("window.toolsWhileStreaming"))
    await tool.locator("summary").click()
    await expect(tool.get_by_role("heading", name="Result")).to_be_visible()
    sidebar = page.get_by_role("navigation", name="Conversations")

    # Rename; the sidebar follows.
    await page.get_by_role("button", name="Rename").click()
    await page.get_by_label("New title").fill("Portfolio questions")
    await page.get_by_role("button", name="Save title").click()
    await expect(page.get_by_role("heading", name="Portfolio questions")).to_be_visible()
    await expect(sidebar.get_by_role("link", name=re.compile("Portfolio questions"))).to_have_attribute(
        "aria-current", "page"
    )

    # A second conversation, then search by a word only the first one's messages hold.
    await page.get_by_role("button", name="New conversation").click()
    await expect(sidebar.locator(".conversation-list li")).to_have_count(2)
    await sidebar.get_by_label("Search").fill("which models")
    await expect(sidebar.locator(".conversation-list li")).to_have_count(1)
    await expect(sidebar.locator(".conversation-list li")).to_contain_text("Portfolio questions")
    await sidebar.get_by_label("Search").fill("")
    await expect(sidebar.locator(".conversation-list li")).to_have_count(2)

    # Export as Markdown: a download of the conversation.
    await sidebar.get_by_role("link", name=re.compile("Portfolio questions")).click()
    await expect(page.get_by_role("heading", name="Portfolio questions")).to_be_visible()
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Export as Markdown").click()
    download = await download_info.value
    assert download.suggested_filename == "portfolio-questions.md"
    markdown = (await download.path()).read_text()
    assert markdown.startswith("# Portfolio questions") and "Which models and runs do I have?" in markdown

    # Archive: out of the list, back with "Show archived", then unarchived.
    await page.get_by_role("button", name="Archive").click()
    await expect(page.get_by_text("Archived", exact=True)).to_be_visible()
    await expect(sidebar.locator(".conversation-list li")).to_have_count(1)
    await sidebar.get_by_label("Show archived").check()
    await expect(sidebar.locator(".conversation-list li")).to_have_count(1)
    await expect(sidebar.locator(".conversation-list li")).to_contain_text("Portfolio questions")
    await page.get_by_role("button", name="Unarchive").click()
    await expect(sidebar.get_by_text("No archived conversations.")).to_be_visible()
    await sidebar.get_by_label("Show archived").uncheck()
    await expect(sidebar.locator(".conversation-list li")).to_have_count(2)

    # Delete asks first.
    await page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete “Portfolio questions”?")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("heading", name="Portfolio questions")).to_be_visible()
    await page.get_by_role("button", name="Delete").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete conversation").click()
    await expect(page).to_have_url(f"{server_url}/app/chat")
    await expect(sidebar.locator(".conversation-list li")).to_have_count(1)
    await expect(sidebar).not_to_contain_text("Portfolio questions")
    no_page_errors(browser)


async def test_a_conversation_about_a_run_opens_from_the_run_page(server_url, api, market, browser, user):
    model_id = await make_model(api, user)
    days = px.trading_days()
    started = await api.data(
        "mutation($m: ID!, $i: DailyRunInput!) { startDailyRun(modelId: $m, input: $i) { id } }",
        {"m": model_id, "i": {"startDate": days[0].isoformat(), "endDate": days[2].isoformat()}},
        token=user.token,
    )
    run_id = started["startDailyRun"]["id"]
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password, path=f"/runs/{run_id}")
    await expect(page.locator("#run-status")).to_have_text("Completed", timeout=60_000)
    await page.get_by_role("button", name="Ask the analyst about this run").click()
    await expect(page.get_by_text("About run #1 of")).to_be_visible()
    sidebar = page.get_by_role("navigation", name="Conversations")
    await expect(sidebar.get_by_label("Conversations about")).to_have_value(model_id)
    await expect(sidebar.locator(".conversation-list li")).to_contain_text("Run #1")
    conversation_id = page.url.rsplit("/", 1)[1]
    assert parse_global_id("Conversation", conversation_id, kind="conversation")
    await sidebar.get_by_label("Conversations about").select_option("")
    await expect(page).to_have_url(f"{server_url}/app/chat?model=")
    await expect(sidebar.get_by_text("No conversations yet.")).to_be_visible()
    await page.go_back()
    await expect(page.get_by_text("About run #1 of")).to_be_visible()
    no_page_errors(browser)
