"""A user's own account: updateProfile (display name, avatar URL) and changePassword, which signs out
every other session, live streams included."""

from __future__ import annotations

import asyncio

import pytest

from db_models.accounts import User
from tests.conftest import PASSWORD
from tests.support.ws_session import acked, next_message, quiet, subscribe

ME = "{ me { id email displayName avatarUrl } }"
UPDATE = "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { id displayName avatarUrl } }"
CHANGE = """mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) {
  token expiresAt user { id email } } }"""
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
PROTECTED = "{ models { totalCount } }"
CHAT_EVENTS = "subscription($id: ID!) { chatEvents(conversationId: $id) { seq } }"
NEW_PASSWORD = "a brand new passphrase"
AVATAR = "https://images.example.com/avatars/alice.png?size=96"


async def test_update_profile_sets_the_display_name_and_avatar_and_me_reads_them(api, user):
    updated = (await api.data(UPDATE, {"i": {"displayName": "  Alice A.  ", "avatarUrl": AVATAR}}, token=user.token))[
        "updateProfile"
    ]
    assert updated["displayName"] == "Alice A." and updated["avatarUrl"] == AVATAR
    me = (await api.data(ME, token=user.token))["me"]
    assert me == {"id": updated["id"], "email": user.email, "displayName": "Alice A.", "avatarUrl": AVATAR}


async def test_omitted_fields_keep_their_value_and_null_or_empty_clears_them(api, user):
    await api.data(UPDATE, {"i": {"displayName": "Alice", "avatarUrl": AVATAR}}, token=user.token)
    kept = (await api.data(UPDATE, {"i": {"displayName": "Alicia"}}, token=user.token))["updateProfile"]
    assert kept["displayName"] == "Alicia" and kept["avatarUrl"] == AVATAR
    cleared = (await api.data(UPDATE, {"i": {"avatarUrl": None, "displayName": "   "}}, token=user.token))[
        "updateProfile"
    ]
    assert cleared["displayName"] is None and cleared["avatarUrl"] is None
    row = await User.get(email=user.email)
    assert row.display_name is None and row.avatar_url is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("avatarUrl", "javascript:alert(1)", "http or https"),
        ("avatarUrl", "data:image/png;base64,iVBORw0KGgo=", "http or https"),
        ("avatarUrl", "ftp://example.com/a.png", "http or https"),
        ("avatarUrl", "//example.com/a.png", "http or https"),
        ("avatarUrl", "https:///a.png", "http or https"),
        ("avatarUrl", "/avatars/me.png", "http or https"),
        ("avatarUrl", "https://exa mple.com/a.png", "http or https"),
        ("avatarUrl", "https://example.com/" + "a" * 490, "at most 500"),
        ("avatarUrl", "https://user:secret@example.com/a.png", "user name or password"),
        ("avatarUrl", "https://[::1/a.png", "http or https"),
        ("displayName", "n" * 101, "displayName"),
        ("displayName", "bell\x07", "displayName"),
        ("displayName", "del\x7f", "displayName"),
        ("displayName", "next\x85line", "displayName"),
        ("displayName", "line\u2028separator", "displayName"),
        ("displayName", "\u202enimda", "displayName"),
        ("displayName", "\u2066isolate\u2069", "displayName"),
        ("displayName", "\u200b\u200d", "displayName"),
    ],
)
async def test_bad_profile_input_is_refused_naming_its_field_and_changes_nothing(api, user, field, value, message):
    await api.data(UPDATE, {"i": {"displayName": "Kept", "avatarUrl": AVATAR}}, token=user.token)
    error = await api.error(UPDATE, {"i": {field: value}}, token=user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == field
    assert message in error["message"]
    me = (await api.data(ME, token=user.token))["me"]
    assert me["displayName"] == "Kept" and me["avatarUrl"] == AVATAR


async def test_a_document_with_several_root_fields_answers_every_one(api, user):
    both = (
        'mutation($a: String) { a: updateProfile(input: {displayName: "First"}) { displayName } '
        "b: updateProfile(input: {avatarUrl: $a}) { displayName avatarUrl } }"
    )
    data = await api.data(both, {"a": AVATAR}, token=user.token)
    assert data["a"]["displayName"] == "First" and data["b"] == {"displayName": "First", "avatarUrl": AVATAR}
    data = await api.data("{ a: me { displayName } b: me { avatarUrl } models { totalCount } }", token=user.token)
    assert data == {"a": {"displayName": "First"}, "b": {"avatarUrl": AVATAR}, "models": {"totalCount": 0}}


async def test_profile_mutations_need_a_signed_in_user(api):
    assert await api.error_code(UPDATE, {"i": {"displayName": "x"}}) == "UNAUTHENTICATED"
    assert await api.error_code(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}) == "UNAUTHENTICATED"


async def test_changing_the_password_signs_out_every_other_token_and_answers_a_working_one(api, user):
    other_session = (await api.data(LOGIN, {"e": user.email, "p": PASSWORD}))["login"]["token"]
    payload = (await api.data(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=user.token))["changePassword"]
    assert payload["user"]["email"] == user.email and payload["token"] not in (user.token, other_session)
    for old in (user.token, other_session):
        error = await api.error(PROTECTED, token=old)
        assert error["extensions"]["code"] == "UNAUTHENTICATED" and "password was changed" in error["message"]
        assert (await api.data(ME, token=old))["me"] is None
    assert (await api.data(PROTECTED, token=payload["token"]))["models"]["totalCount"] == 0
    assert await api.error_code(LOGIN, {"e": user.email, "p": PASSWORD}) == "UNAUTHENTICATED"
    fresh = (await api.data(LOGIN, {"e": user.email, "p": NEW_PASSWORD}))["login"]["token"]
    assert (await api.data(ME, token=fresh))["me"]["email"] == user.email


async def test_a_second_change_outdates_the_token_the_first_one_answered(api, user):
    first = (await api.data(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=user.token))["changePassword"]["token"]
    second = (await api.data(CHANGE, {"c": NEW_PASSWORD, "n": PASSWORD}, token=first))["changePassword"]["token"]
    assert await api.error_code(PROTECTED, token=first) == "UNAUTHENTICATED"
    assert (await api.data(ME, token=second))["me"]["email"] == user.email


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [
        ("not the password", NEW_PASSWORD, "currentPassword"),
        (PASSWORD, "short", "newPassword"),
        (PASSWORD, "p" * 257, "newPassword"),
    ],
)
async def test_a_refused_password_change_keeps_the_old_password_and_tokens(api, user, current, new, field):
    before = await User.get(email=user.email)
    error = await api.error(CHANGE, {"c": current, "n": new}, token=user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == field
    after = await User.get(email=user.email)
    assert (after.password_hash, after.token_version) == (before.password_hash, before.token_version)
    assert (await api.data(ME, token=user.token))["me"]["email"] == user.email


async def test_of_password_changes_racing_from_one_session_exactly_one_wins_and_the_others_change_nothing(api, user):
    wanted = [f"{NEW_PASSWORD} {n}" for n in range(4)]
    bodies = await asyncio.gather(*(api.execute(CHANGE, {"c": PASSWORD, "n": n}, token=user.token) for n in wanted))
    winners = [n for n, body in zip(wanted, bodies, strict=True) if not body.get("errors")]
    assert len(winners) == 1, bodies
    losers = [body["errors"][0] for body in bodies if body.get("errors")]
    assert all(e["extensions"]["code"] == "UNAUTHENTICATED" and "password was changed" in e["message"] for e in losers)
    [token] = [body["data"]["changePassword"]["token"] for body in bodies if not body.get("errors")]
    assert (await api.data(ME, token=token))["me"]["email"] == user.email
    row = await User.get(email=user.email)
    assert row.token_version == 1
    for password in [PASSWORD, *wanted]:
        opens = not (await api.execute(LOGIN, {"e": user.email, "p": password})).get("errors")
        assert opens == (password == winners[0]), password


async def test_a_live_stream_of_an_outdated_token_ends_after_a_password_change(api, ws_url, user, limits):
    limits(ws_auth_recheck_seconds=0.3)
    conversation = (await api.data("mutation { createConversation { id } }", token=user.token))["createConversation"]
    socket = await acked(ws_url, user.token)
    try:
        await subscribe(socket, "chat", CHAT_EVENTS, {"id": conversation["id"]})
        assert await quiet(socket)
        await api.data(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=user.token)
        message = await next_message(socket, timeout=5)
        assert message["id"] == "chat"
        error = message["payload"]["errors"][0]
        assert error["extensions"]["code"] == "UNAUTHENTICATED" and "password was changed" in error["message"]
    finally:
        await socket.close()
