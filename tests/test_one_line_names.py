"""Names and titles other people see (display names, trading model names, conversation titles, arena names) are
held to one rule: one line, printable, in the order typed, something visible. Anything else is BAD_USER_INPUT
beside the field, and nothing is written."""

from __future__ import annotations

import pytest

from agents.chat.titles import clean_title
from db_models.accounts import User
from db_models.arenas import Arena
from db_models.chat import Conversation
from db_models.trading import TradingModel
from tests.conftest import PASSWORD, SIGNUP, unique_email

# Each shows as something other than what was typed, or as nothing.
UNSHOWABLE = {
    "bell": "bell\x07",
    "tab": "tab\there",
    "newline": "two\nlines",
    "carriage return": "back\rwards",
    "DEL": "del\x7f",
    "NEL": "next\x85line",
    "line separator": "line\u2028separator",
    "paragraph separator": "para\u2029graph",
    "right-to-left override": "\u202enimda",
    "isolate": "\u2066isolate\u2069",
    "Arabic letter mark": "mark\u061c",
    "left-to-right mark": "\u200eadmin",
    "only zero-width": "\u200b\u200d",
}
SHOWABLE = {  # typed -> stored
    "  Tech  leaders ": "Tech leaders",
    "שלום עולם": "שלום עולם",
    "👩\u200d💻 quant desk": "👩\u200d💻 quant desk",
    "Ünïcødé\u00a0name": "Ünïcødé name",
}
CREATE_MODEL = "mutation($input: CreateModelInput!) { createModel(input: $input) { id name } }"
UPDATE_MODEL = "mutation($id: ID!, $name: String) { updateModel(id: $id, input: {name: $name}) { id name } }"
CONVERSATION = "mutation { createConversation { id title } }"
RENAME = "mutation($id: ID!, $t: String!) { renameConversation(id: $id, title: $t) { id title } }"
PROFILE = "mutation($name: String) { updateProfile(input: {displayName: $name}) { displayName } }"
ARENA = """mutation($name: String!, $ids: [ID!]!) { startArena(input: {name: $name, modelIds: $ids,
  startDate: "2025-01-02", endDate: "2025-01-10"}) { id name } }"""


async def _model(api, account, name: str = "Plain") -> str:
    variables = {"input": {"name": name, "allowedTickers": ["AAPL"], "aiModel": "local/momentum"}}
    return (await api.data(CREATE_MODEL, variables, token=account.token))["createModel"]["id"]


def _refused(error: dict, field: str) -> None:
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == field, error
    assert error["message"].startswith(f"{field} must "), error


async def _snapshot(email: str) -> list[str]:
    owner = await User.get(email=email)
    rows = [owner.display_name or ""]
    rows += await TradingModel.filter(owner=owner).order_by("id").values_list("name", flat=True)
    rows += await Conversation.filter(user=owner).order_by("id").values_list("title", flat=True)
    rows += await Arena.filter(owner=owner).values_list("name", flat=True)
    return rows


@pytest.mark.parametrize("text", UNSHOWABLE.values(), ids=UNSHOWABLE.keys())
async def test_every_name_and_title_refuses_what_would_not_show_as_typed(api, user, text):
    models = [await _model(api, user, "First"), await _model(api, user, "Second")]
    conversation = (await api.data(CONVERSATION, token=user.token))["createConversation"]["id"]
    before = await _snapshot(user.email)
    input_ = {"name": text, "allowedTickers": ["AAPL"], "aiModel": "local/momentum"}
    _refused(await api.error(CREATE_MODEL, {"input": input_}, token=user.token), "name")
    _refused(await api.error(UPDATE_MODEL, {"id": models[0], "name": text}, token=user.token), "name")
    _refused(await api.error(RENAME, {"id": conversation, "t": text}, token=user.token), "title")
    _refused(await api.error(ARENA, {"name": text, "ids": models}, token=user.token), "name")
    _refused(await api.error(PROFILE, {"name": text}, token=user.token), "displayName")
    signup = {"email": unique_email(), "password": PASSWORD, "displayName": text}
    _refused(await api.error(SIGNUP, signup), "displayName")
    assert await _snapshot(user.email) == before
    assert not await User.filter(email=signup["email"]).exists()


async def test_names_and_titles_in_any_script_are_kept_with_their_spaces_tidied(api, user):
    conversation = (await api.data(CONVERSATION, token=user.token))["createConversation"]["id"]
    model = await _model(api, user)
    for typed, stored in SHOWABLE.items():
        assert (await api.data(UPDATE_MODEL, {"id": model, "name": typed}, token=user.token))["updateModel"][
            "name"
        ] == stored
        renamed = await api.data(RENAME, {"id": conversation, "t": typed}, token=user.token)
        assert renamed["renameConversation"]["title"] == stored
        profile = await api.data(PROFILE, {"name": typed}, token=user.token)
        assert profile["updateProfile"]["displayName"] == stored


async def test_the_limits_and_emptiness_are_checked_after_tidying(api, user):
    model = await _model(api, user)
    assert (await api.data(UPDATE_MODEL, {"id": model, "name": "a" + " " * 200 + "b"}, token=user.token))[
        "updateModel"
    ]["name"] == "a b"
    _refused(await api.error(UPDATE_MODEL, {"id": model, "name": "x" * 101}, token=user.token), "name")
    error = await api.error(UPDATE_MODEL, {"id": model, "name": " \u3000 "}, token=user.token)
    assert error["message"] == "name must not be empty." and error["extensions"]["field"] == "name"
    cleared = await api.data(PROFILE, {"name": "   "}, token=user.token)  # an optional name is cleared instead
    assert cleared["updateProfile"]["displayName"] is None


def test_a_title_the_analyst_writes_with_hidden_characters_is_not_used():
    assert clean_title("Title: Apple split news today") == "Apple split news today"
    assert clean_title("Title: Apple \u202esplit news today") is None  # the words of the message are used instead
    assert clean_title("Apple split\u2066 news today") is None
