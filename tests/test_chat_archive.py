"""Archiving conversations: out of the default list, listed with archived: true, still readable."""

from __future__ import annotations

from db_models.chat import Conversation
from graphql_api.ids import parse_global_id

CREATE = "mutation($model: ID) { createConversation(modelId: $model) { id archived } }"
RENAME = "mutation($id: ID!, $t: String!) { renameConversation(id: $id, title: $t) { id } }"
ARCHIVE = "mutation($id: ID!) { archiveConversation(id: $id) { id archived title } }"
UNARCHIVE = "mutation($id: ID!) { unarchiveConversation(id: $id) { id archived } }"
LIST = """query($model: ID, $s: String, $a: Boolean) {
  conversations(modelId: $model, search: $s, archived: $a) { totalCount edges { node { id archived } } } }"""
LIST_DEFAULT = "{ conversations { totalCount edges { node { id } } } }"
READ = "query($id: ID!) { conversation(id: $id) { id archived title } }"
MODEL = """mutation { createModel(input: {name: "Archive scope", allowedTickers: ["AAPL"],
  aiModel: "local/momentum"}) { id } }"""


async def _conversation(api, account, title: str, model: str | None = None) -> str:
    conversation_id = (await api.data(CREATE, {"model": model}, token=account.token))["createConversation"]["id"]
    await api.data(RENAME, {"id": conversation_id, "t": title}, token=account.token)
    return conversation_id


def _ids(data: dict) -> set[str]:
    return {edge["node"]["id"] for edge in data["conversations"]["edges"]}


async def test_a_new_conversation_is_not_archived(api, user):
    created = (await api.data(CREATE, {"model": None}, token=user.token))["createConversation"]
    assert created["archived"] is False


async def test_an_archived_conversation_leaves_the_default_list_and_is_listed_with_archived_true(api, user):
    kept = await _conversation(api, user, "Still current")
    shelved = await _conversation(api, user, "Old question")
    archived = (await api.data(ARCHIVE, {"id": shelved}, token=user.token))["archiveConversation"]
    assert archived == {"id": shelved, "archived": True, "title": "Old question"}
    assert _ids(await api.data(LIST_DEFAULT, token=user.token)) == {kept}
    assert _ids(await api.data(LIST, {"a": False}, token=user.token)) == {kept}
    assert _ids(await api.data(LIST, {"a": True}, token=user.token)) == {shelved}
    assert _ids(await api.data(LIST, {"a": None}, token=user.token)) == {kept, shelved}
    assert (await api.data(READ, {"id": shelved}, token=user.token))["conversation"]["archived"] is True


async def test_unarchiving_brings_it_back_and_both_are_idempotent(api, user):
    conversation = await _conversation(api, user, "Back again")
    for _ in range(2):
        assert (await api.data(ARCHIVE, {"id": conversation}, token=user.token))["archiveConversation"]["archived"]
    assert _ids(await api.data(LIST_DEFAULT, token=user.token)) == set()
    for _ in range(2):
        data = await api.data(UNARCHIVE, {"id": conversation}, token=user.token)
        assert data["unarchiveConversation"]["archived"] is False
    assert _ids(await api.data(LIST_DEFAULT, token=user.token)) == {conversation}
    row = await Conversation.get(id=parse_global_id("Conversation", conversation, kind="conversation"))
    assert row.archived is False


async def test_the_archived_filter_combines_with_the_model_scope_and_search(api, user):
    model = (await api.data(MODEL, token=user.token))["createModel"]["id"]
    general = await _conversation(api, user, "Rates outlook")
    about_model = await _conversation(api, user, "Rates and my model", model)
    other = await _conversation(api, user, "Earnings season", model)
    for conversation in (general, about_model, other):
        await api.data(ARCHIVE, {"id": conversation}, token=user.token)
    found = await api.data(LIST, {"model": model, "s": "rates", "a": True}, token=user.token)
    assert _ids(found) == {about_model}
    assert _ids(await api.data(LIST, {"s": "rates", "a": True}, token=user.token)) == {general}
    assert _ids(await api.data(LIST, {"model": model, "s": "rates"}, token=user.token)) == set()


async def test_another_users_conversation_cannot_be_archived_or_unarchived(api, user, other_user):
    conversation = await _conversation(api, user, "Mine alone")
    for document in (ARCHIVE, UNARCHIVE):
        error = await api.error(document, {"id": conversation}, token=other_user.token)
        assert error["extensions"]["code"] == "NOT_FOUND"
    assert (await api.data(READ, {"id": conversation}, token=user.token))["conversation"]["archived"] is False
    assert _ids(await api.data(LIST, {"a": None}, token=other_user.token)) == set()


async def test_archiving_an_unknown_or_malformed_id_is_not_found(api, user):
    for bad in ("not-an-id", "VXNlcjox", "Q29udmVyc2F0aW9uOjk5OTk5OTk5"):
        assert await api.error_code(ARCHIVE, {"id": bad}, token=user.token) == "NOT_FOUND"


async def test_archiving_needs_a_signed_in_user(api, user):
    conversation = await _conversation(api, user, "Private")
    assert await api.error_code(ARCHIVE, {"id": conversation}) == "UNAUTHENTICATED"
