"""Conversations with the analyst: CRUD, search, export, streamed replies, cancel and isolation."""

from __future__ import annotations

import asyncio
import json

import pytest

from db_models.chat import ChatMessage, Conversation
from tests.support.chat_helpers import follow_chat
from tests.support.fake_openai import Turn, tool_results

CREATE = """mutation($model: ID, $run: ID) { createConversation(modelId: $model, runId: $run) {
  id title isActive model { id } run { id } messageCount } }"""
SEND = "mutation($id: ID!, $c: String!) { sendMessage(conversationId: $id, content: $c) { id role content createdAt } }"
CONVERSATION = """query($id: ID!) { conversation(id: $id) { id title summary messageCount
  messages(last: 30) { totalCount edges { node { role content toolCalls } }
  pageInfo { hasPreviousPage startCursor } } } }"""
LIST = """query($model: ID, $s: String) {
  conversations(modelId: $model, search: $s) { totalCount edges { node { id title } } } }"""
RENAME = "mutation($id: ID!, $t: String!) { renameConversation(id: $id, title: $t) { id title } }"
EXPORT = "query($id: ID!, $f: ExportFormat) { exportConversation(id: $id, format: $f) }"
DELETE = "mutation($id: ID!) { deleteConversation(id: $id) }"
MODEL = "mutation($i: CreateModelInput!) { createModel(input: $i) { id } }"
SETTINGS = """mutation($i: GlobalChatSettingsInput!) {
  updateGlobalChatSettings(input: $i) { chatModel instructions parameters { temperature } updatedAt } }"""


async def new_conversation(api, account, model=None) -> str:
    return (await api.data(CREATE, {"model": model}, token=account.token))["createConversation"]["id"]


async def ask(api, ws_url, account, conversation_id, text) -> list[dict]:
    events, error = await follow_chat(
        ws_url,
        account.token,
        conversation_id,
        on_open=lambda: api.data(SEND, {"id": conversation_id, "c": text}, token=account.token),
    )
    assert error is None
    return events


async def test_a_reply_streams_tokens_that_add_up_to_the_stored_message(api, ws_url, user):
    conversation = await new_conversation(api, user)
    events = await ask(api, ws_url, user, conversation, "Which models and runs do I have?")
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "TITLE" and kinds[-1] == "COMPLETE" and "TOKEN" in kinds
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    streamed = "".join(e["token"] for e in events if e["kind"] == "TOKEN")
    stored = events[-1]["message"]
    assert stored["role"] == "ASSISTANT" and stored["content"] == streamed and streamed.strip()
    assert 3 <= len(events[0]["title"].split()) <= 5
    tools = [(e["kind"], e["tool"]) for e in events if e["kind"] in ("TOOL_START", "TOOL_END")]
    assert tools and tools[0][0] == "TOOL_START" and tools[1] == ("TOOL_END", tools[0][1])
    data = (await api.data(CONVERSATION, {"id": conversation}, token=user.token))["conversation"]
    assert data["title"] == events[0]["title"] and data["messageCount"] == 2
    assert [e["node"]["role"] for e in data["messages"]["edges"]] == ["USER", "ASSISTANT"]
    assert data["messages"]["edges"][1]["node"]["toolCalls"][0]["name"] == tools[0][1]


async def test_replay_after_a_disconnect_returns_what_was_missed(api, ws_url, user):
    conversation = await new_conversation(api, user)
    everything = await ask(api, ws_url, user, conversation, "list my models")
    missed, error = await follow_chat(ws_url, user.token, conversation, after_seq=3)
    assert error is None and missed == everything[3:]


async def test_a_second_message_while_replying_is_a_conflict_and_cancel_keeps_the_partial_reply(
    api, ws_url, user, admin, remote_llm
):
    remote_llm.delay_seconds = 0.5
    remote_llm.token_delay_seconds = 0.02  # 400 words take 8 s: the cancel lands mid-reply on a loaded machine too
    remote_llm.policy = lambda messages, tools: Turn("word " * 400)
    await api.data(SETTINGS, {"i": {"chatModel": "openai/gpt-5"}}, token=admin.token)
    try:
        conversation = await new_conversation(api, user)
        await api.data(SEND, {"id": conversation, "c": "Tell me a long story"}, token=user.token)
        error = await api.error(SEND, {"id": conversation, "c": "and another"}, token=user.token)
        assert error["extensions"]["code"] == "CONFLICT"
        events, _ = await follow_chat(
            ws_url, user.token, conversation, after_seq=0, until=lambda evs: any(e["kind"] == "TOKEN" for e in evs)
        )
        assert (
            await api.data(
                "mutation($id: ID!) { cancelReply(conversationId: $id) }", {"id": conversation}, token=user.token
            )
        )["cancelReply"] is True
        events, _ = await follow_chat(ws_url, user.token, conversation, after_seq=0)
        stored = await ChatMessage.filter(conversation__user__email=user.email, role="ASSISTANT").first()
        assert stored.cut_short is True
        assert stored.content == "".join(e["token"] for e in events if e["kind"] == "TOKEN")
        assert len(stored.content.split()) < 400
        # Once the reply is over (its worker clears the flag right after COMPLETE), the next message is accepted.
        for _ in range(50):
            body = await api.execute(SEND, {"id": conversation, "c": "again"}, token=user.token)
            if not body.get("errors"):
                break
            assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
            await asyncio.sleep(0.1)
        assert body["data"]["sendMessage"]["id"]
    finally:
        await api.data(SETTINGS, {"i": {"chatModel": None}}, token=admin.token)


@pytest.mark.parametrize(("content", "message"), [("", "empty"), ("   ", "empty"), ("x" * 100_000, "at most")])
async def test_bad_messages_are_refused_and_stored_nowhere(api, user, content, message):
    conversation = await new_conversation(api, user)
    error = await api.error(SEND, {"id": conversation, "c": content}, token=user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and message in error["message"]
    assert not await ChatMessage.filter(conversation__user__email=user.email).exists()


@pytest.mark.parametrize("title", ["", "   ", "t" * 500])
async def test_bad_titles_are_refused(api, user, title):
    conversation = await new_conversation(api, user)
    assert await api.error_code(RENAME, {"id": conversation, "t": title}, token=user.token) == "BAD_USER_INPUT"
    assert (await Conversation.get(user__email=user.email)).title == "New conversation"


async def test_conversations_are_listed_by_scope_and_found_by_title_or_message_text(api, ws_url, user):
    model = (
        await api.data(
            MODEL, {"i": {"name": "Chatty", "allowedTickers": ["AAPL"], "aiModel": "local/momentum"}}, token=user.token
        )
    )["createModel"]["id"]
    general = await new_conversation(api, user)
    about_model = await new_conversation(api, user, model)
    await api.data(RENAME, {"id": general, "t": "Quarterly Review"}, token=user.token)
    await ask(api, ws_url, user, about_model, "What about the ZEBRA signal?")
    assert [e["node"]["id"] for e in (await api.data(LIST, {}, token=user.token))["conversations"]["edges"]] == [
        general
    ]
    by_model = (await api.data(LIST, {"model": model}, token=user.token))["conversations"]
    assert [e["node"]["id"] for e in by_model["edges"]] == [about_model]
    assert (await api.data(LIST, {"s": "quarterly"}, token=user.token))["conversations"]["totalCount"] == 1
    found = (await api.data(LIST, {"model": model, "s": "zebra"}, token=user.token))["conversations"]
    assert [e["node"]["id"] for e in found["edges"]] == [about_model]
    nested = await api.data(
        "query($id: ID!) { model(id: $id) { conversations { totalCount } } }", {"id": model}, token=user.token
    )
    assert nested["model"]["conversations"]["totalCount"] == 1


async def test_resume_marks_one_conversation_active(api, user):
    first, second = await new_conversation(api, user), await new_conversation(api, user)
    resumed = (
        await api.data(
            "mutation($id: ID!) { resumeConversation(id: $id) { id isActive messages { totalCount } } }",
            {"id": first},
            token=user.token,
        )
    )["resumeConversation"]
    assert resumed["isActive"] is True
    states = {c.id: c.is_active for c in await Conversation.filter(user__email=user.email)}
    assert sorted(states.values()) == [False, True]
    assert second


async def test_export_as_markdown_and_json(api, ws_url, user):
    conversation = await new_conversation(api, user)
    await ask(api, ws_url, user, conversation, "list my models")
    markdown = (await api.data(EXPORT, {"id": conversation}, token=user.token))["exportConversation"]
    assert markdown.startswith("# ") and "**You**" in markdown and "list my models" in markdown
    exported = json.loads(
        (await api.data(EXPORT, {"id": conversation, "f": "JSON"}, token=user.token))["exportConversation"]
    )
    assert [m["role"] for m in exported["messages"]] == ["USER", "ASSISTANT"]


async def test_messages_page_backwards_newest_pages_first_oldest_first_within_a_page(api, user):
    conversation = await new_conversation(api, user)
    row = await Conversation.get(user__email=user.email)
    await ChatMessage.bulk_create([ChatMessage(conversation=row, role="USER", content=f"m{i}") for i in range(7)])
    query = """query($id: ID!, $before: String) { conversation(id: $id) { messages(last: 3, before: $before) {
      edges { node { content } } pageInfo { hasPreviousPage startCursor } } } }"""
    pages, before = [], None
    while True:
        page = (await api.data(query, {"id": conversation, "before": before}, token=user.token))["conversation"][
            "messages"
        ]
        pages.append([e["node"]["content"] for e in page["edges"]])
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert pages == [["m4", "m5", "m6"], ["m1", "m2", "m3"], ["m0"]]


async def test_another_user_cannot_reach_a_conversation_in_any_way(api, ws_url, user, other_user):
    conversation = await new_conversation(api, user)
    await ask(api, ws_url, user, conversation, "list my models")
    before = await ChatMessage.filter(conversation__user__email=user.email).count()
    for query, variables in [
        (CONVERSATION, {"id": conversation}),
        (RENAME, {"id": conversation, "t": "mine now"}),
        (EXPORT, {"id": conversation}),
        (DELETE, {"id": conversation}),
        (SEND, {"id": conversation, "c": "hi"}),
        ("mutation($id: ID!) { resumeConversation(id: $id) { id } }", {"id": conversation}),
        ("mutation($id: ID!) { cancelReply(conversationId: $id) }", {"id": conversation}),
    ]:
        assert await api.error_code(query, variables, token=other_user.token) == "NOT_FOUND"
    events, error = await follow_chat(ws_url, other_user.token, conversation, after_seq=0)
    assert events == [] and error["extensions"]["code"] == "NOT_FOUND"
    assert await ChatMessage.filter(conversation__user__email=user.email).count() == before
    assert (await Conversation.get(user__email=user.email)).title != "mine now"


async def test_a_conversation_about_another_users_model_or_run_is_refused(api, user, other_user):
    model = (
        await api.data(
            MODEL, {"i": {"name": "Private", "allowedTickers": ["AAPL"], "aiModel": "local/momentum"}}, token=user.token
        )
    )["createModel"]["id"]
    assert await api.error_code(CREATE, {"model": model}, token=other_user.token) == "NOT_FOUND"
    assert await api.error_code(CREATE, {"run": "UnVuOjE"}, token=other_user.token) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("How did run 99999999999999999999 of model 'Probe' do?", "has no run 99999999999999999999"),
        ("How did run " + "9" * 5_000 + " of model 'Probe' do?", "has no runs yet"),
        ("How did run 4294967296 of model 'Probe' do?", "has no run 4294967296"),
        ("Compare runs 1 and 99999999999999 of model 'Probe'", "99999999999999"),
        ("How did model 99999999999999 do?", "no model called '99999999999999'"),
    ],
    ids=["20-digit-run", "5000-digit-run", "run-over-32-bits", "compare-over-32-bits", "model-over-32-bits"],
)
async def test_numbers_no_run_or_model_can_have_are_answered_not_found(api, ws_url, user, question, answer):
    model = {"name": "Probe", "allowedTickers": ["AAPL"], "aiModel": "local/momentum"}
    await api.data(MODEL, {"i": model}, token=user.token)
    conversation = await new_conversation(api, user)
    events = await ask(api, ws_url, user, conversation, question)
    assert events[-1]["kind"] == "COMPLETE", events[-1]
    [tool_end] = [e for e in events if e["kind"] == "TOOL_END"]
    assert answer in tool_end["toolOutput"], tool_end["toolOutput"]
    for word in ("int32", "64-bit", "query argument", "Exceeds the limit", "Error:"):
        assert word not in tool_end["toolOutput"] and word not in events[-1]["message"]["content"]
    stored = (await api.data(CONVERSATION, {"id": conversation}, token=user.token))["conversation"]
    assert stored["messages"]["edges"][1]["node"]["toolCalls"][0]["output"] == tool_end["toolOutput"]


async def test_a_remote_analysts_tool_call_with_a_number_beyond_64_bits_is_answered_and_stored(
    api, ws_url, user, admin, remote_llm
):
    huge = 10**20

    def ask_for_a_huge_run(messages, tools):
        if not tool_results(messages):
            return Turn("", [("run_performance", {"run_number": huge})])
        return Turn("That run does not exist.")

    await api.data(SETTINGS, {"i": {"chatModel": "openai/gpt-5"}}, token=admin.token)
    try:
        remote_llm.policy = ask_for_a_huge_run
        conversation = await new_conversation(api, user)
        events = await ask(api, ws_url, user, conversation, "How did that run do?")
        assert events[-1]["kind"] == "COMPLETE", events[-1]
        assert events[-1]["message"]["toolCalls"][0]["input"] == {"run_number": str(huge)}
    finally:
        await api.data(SETTINGS, {"i": {"chatModel": None}}, token=admin.token)


async def test_deleting_a_conversation_removes_its_messages(api, ws_url, user):
    conversation = await new_conversation(api, user)
    await ask(api, ws_url, user, conversation, "list my models")
    assert (await api.data(DELETE, {"id": conversation}, token=user.token))["deleteConversation"] is True
    assert not await ChatMessage.filter(conversation__user__email=user.email).exists()


async def test_global_chat_settings_are_set_by_admins_only(api, user, admin):
    assert (await api.data("{ globalChatSettings { chatModel } }", token=user.token))["globalChatSettings"]["chatModel"]
    assert await api.error_code(SETTINGS, {"i": {"instructions": "be brief"}}, token=user.token) == "FORBIDDEN"
    assert await api.error_code(SETTINGS, {"i": {"chatModel": "local/momentum"}}, token=admin.token) == "BAD_USER_INPUT"
    assert (
        await api.error_code(SETTINGS, {"i": {"parameters": {"temperature": 5}}}, token=admin.token) == "BAD_USER_INPUT"
    )
    updated = (
        await api.data(
            SETTINGS, {"i": {"instructions": "Be brief.", "parameters": {"temperature": 0.2}}}, token=admin.token
        )
    )["updateGlobalChatSettings"]
    assert (
        updated["instructions"] == "Be brief." and updated["parameters"]["temperature"] == 0.2 and updated["updatedAt"]
    )
    await api.data(SETTINGS, {"i": {"instructions": None}}, token=admin.token)


async def test_a_failing_remote_llm_ends_the_reply_with_a_readable_error(api, ws_url, user, admin, remote_llm):
    await api.data(SETTINGS, {"i": {"chatModel": "openai/gpt-5"}}, token=admin.token)
    try:
        remote_llm.fail_status = 500
        conversation = await new_conversation(api, user)
        events = await ask(api, ws_url, user, conversation, "How did my runs do?")
        assert events[-1]["kind"] == "ERROR" and "overloaded" in events[-1]["error"]
        assert "Traceback" not in events[-1]["error"]
        # The conversation is free again for the next message.
        remote_llm.fail_status = None
        remote_llm.policy = lambda messages, tools: Turn("Your runs did fine.")
        again, _ = await follow_chat(
            ws_url,
            user.token,
            conversation,
            after_seq=events[-1]["seq"],
            on_open=lambda: api.data(SEND, {"id": conversation, "c": "Try again"}, token=user.token),
        )
        assert again[-1]["kind"] == "COMPLETE" and again[-1]["message"]["content"] == "Your runs did fine."
    finally:
        await api.data(SETTINGS, {"i": {"chatModel": None}}, token=admin.token)


async def test_a_long_conversation_folds_older_messages_into_its_summary(api, ws_url, user):
    conversation = await new_conversation(api, user)
    row = await Conversation.get(user__email=user.email)
    await ChatMessage.bulk_create(
        [
            ChatMessage(
                conversation=row,
                role="USER" if i % 2 == 0 else "ASSISTANT",
                content=f"Earlier point number {i} about AAPL momentum",
            )
            for i in range(44)
        ]
    )
    await ask(api, ws_url, user, conversation, "list my models")
    summary = None
    for _ in range(50):  # the summary is written just after the reply completes
        summary = (await api.data(CONVERSATION, {"id": conversation}, token=user.token))["conversation"]["summary"]
        if summary:
            break
        await asyncio.sleep(0.1)
    assert summary and summary.strip()
    folded = await Conversation.get(id=row.id)
    newest_kept = await ChatMessage.filter(conversation_id=row.id).order_by("-id").offset(29).first()
    assert folded.summarized_through_id is not None and folded.summarized_through_id < newest_kept.id


async def test_a_document_with_several_root_fields_answers_every_one(api, user):
    conversation = await new_conversation(api, user)
    document = """query($id: ID!) { conversations { totalCount } conversation(id: $id) { id }
      globalChatSettings { chatModel } exportConversation(id: $id) me { id } }"""
    data = await api.data(document, {"id": conversation}, token=user.token)
    assert data["conversations"]["totalCount"] == 1 and data["conversation"]["id"] == conversation
    assert data["globalChatSettings"]["chatModel"] and data["exportConversation"] and data["me"]["id"] == user.id
