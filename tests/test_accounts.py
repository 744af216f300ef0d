"""Signup, login, logout, me, and the admin views of users."""

from __future__ import annotations

import pytest

from db_models.accounts import RevokedToken, Role, User
from tests.conftest import PASSWORD, SIGNUP, unique_email

LOGIN = (
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token expiresAt user { id email role } } }"
)
ME = "{ me { id email role displayName createdAt } }"
LOGOUT = "mutation { logout }"
USERS = """query($first: Int, $after: String) { users(first: $first, after: $after) {
  totalCount edges { cursor node { id email role } } pageInfo { hasNextPage endCursor } } }"""
SET_ROLE = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id role } }"


async def test_signup_returns_a_token_for_a_new_user(api):
    email = unique_email()
    data = await api.data(SIGNUP, {"email": email, "password": PASSWORD, "displayName": "  Alice  "})
    payload = data["signup"]
    assert payload["user"] == {"id": payload["user"]["id"], "email": email, "role": "USER", "displayName": "Alice"}
    assert payload["token"].count(".") == 2
    me = (await api.data(ME, token=payload["token"]))["me"]
    assert me["email"] == email


async def test_signup_normalises_the_email_case(api):
    email = unique_email()
    data = await api.data(SIGNUP, {"email": "  " + email.upper() + " ", "password": PASSWORD})
    assert data["signup"]["user"]["email"] == email


async def test_signup_stores_an_argon2_hash_not_the_password(api, user):
    row = await User.get(email=user.email)
    assert row.password_hash.startswith("$argon2")
    assert PASSWORD not in row.password_hash


@pytest.mark.parametrize(
    ("email", "password", "display_name", "message"),
    [
        ("not-an-email", PASSWORD, None, "email"),
        ("a@b", PASSWORD, None, "email"),
        ("", PASSWORD, None, "email"),
        ("x" * 250 + "@example.com", PASSWORD, None, "email"),
        ("short@example.com", "1234567", None, "at least 8"),
        ("long@example.com", "p" * 257, None, "at most 256"),
        ("name@example.com", PASSWORD, "n" * 101, "displayName"),
        ("ctrl@example.com", PASSWORD, "bad\x07name", "displayName"),
    ],
)
async def test_signup_rejects_bad_input(api, email, password, display_name, message):
    before = await User.all().count()
    error = await api.error(SIGNUP, {"email": email, "password": password, "displayName": display_name})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]
    assert await User.all().count() == before


async def test_signup_with_a_taken_email_is_a_conflict(api, user):
    error = await api.error(SIGNUP, {"email": user.email.upper(), "password": PASSWORD})
    assert error["extensions"]["code"] == "CONFLICT"
    assert await User.filter(email=user.email).count() == 1


async def test_login_returns_a_fresh_token(api, user):
    data = await api.data(LOGIN, {"e": user.email, "p": PASSWORD})
    assert data["login"]["user"]["email"] == user.email
    assert data["login"]["token"] != user.token


async def test_login_with_a_wrong_password_or_unknown_email_gives_the_same_answer(api, user):
    wrong = await api.error(LOGIN, {"e": user.email, "p": "wrong password"})
    unknown = await api.error(LOGIN, {"e": unique_email(), "p": PASSWORD})
    assert wrong["extensions"]["code"] == unknown["extensions"]["code"] == "UNAUTHENTICATED"
    assert wrong["message"] == unknown["message"]


async def test_login_with_an_email_longer_than_any_account_holds_is_refused_like_a_wrong_password(api, user):
    for address in ("a" * 250 + "@example.com", "b" * 100_000 + "@example.com"):
        error = await api.error(LOGIN, {"e": address, "p": PASSWORD})
        assert error["extensions"]["code"] == "UNAUTHENTICATED", error
        assert error["message"] == "Invalid email or password."


async def test_me_is_null_without_a_token(api):
    assert (await api.data(ME))["me"] is None


async def test_me_is_null_with_a_garbage_token(api):
    assert (await api.data(ME, token="garbage"))["me"] is None


async def test_logout_revokes_only_the_token_that_made_the_request(api, user):
    second = (await api.data(LOGIN, {"e": user.email, "p": PASSWORD}))["login"]["token"]
    assert (await api.data(LOGOUT, token=user.token))["logout"] is True
    assert (await api.data(ME, token=user.token))["me"] is None
    error = await api.error("{ models { totalCount } }", token=user.token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "revoked" in error["message"]
    assert (await api.data(ME, token=second))["me"]["email"] == user.email
    assert await RevokedToken.filter(user__email=user.email).count() == 1


async def test_logout_without_a_token_is_unauthenticated(api):
    assert await api.error_code(LOGOUT) == "UNAUTHENTICATED"


async def test_a_malformed_authorization_header_is_unauthenticated(api, user):
    response = await api.http.post(
        "/graphql", json={"query": "{ models { totalCount } }"}, headers={"Authorization": f"Token {user.token}"}
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_users_is_for_admins_only(api, user):
    assert await api.error_code(USERS, token=user.token) == "FORBIDDEN"
    assert await api.error_code(USERS) == "UNAUTHENTICATED"


async def test_admin_pages_through_all_users(api, admin, signup):
    for _ in range(3):
        await signup("paged")
    total = await User.all().count()
    seen: list[str] = []
    after = None
    while True:
        page = (await api.data(USERS, {"first": 2, "after": after}, token=admin.token))["users"]
        assert page["totalCount"] == total
        seen += [e["node"]["email"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == total == len(set(seen))


async def test_admin_promotes_a_user_and_the_role_is_read_from_the_database(api, admin, user):
    assert await api.error_code(USERS, token=user.token) == "FORBIDDEN"
    data = await api.data(SET_ROLE, {"id": user.id, "role": "ADMIN"}, token=admin.token)
    assert data["setUserRole"]["role"] == "ADMIN"
    # The same token, issued while the user was a USER, now carries admin rights.
    assert (await api.data(USERS, {"first": 1}, token=user.token))["users"]["totalCount"] >= 2


async def test_set_user_role_is_forbidden_to_users(api, user, other_user):
    assert await api.error_code(SET_ROLE, {"id": other_user.id, "role": "ADMIN"}, token=user.token) == "FORBIDDEN"
    assert (await User.get(email=other_user.email)).role == Role.USER


@pytest.mark.parametrize("bad_id", ["nope", "VXNlcjo5OTk5OTk5", "VHJhZGluZ01vZGVsOjE"])
async def test_set_user_role_on_an_unknown_id_is_not_found(api, admin, bad_id):
    assert await api.error_code(SET_ROLE, {"id": bad_id, "role": "ADMIN"}, token=admin.token) == "NOT_FOUND"


async def test_the_last_admin_cannot_demote_themselves(api, admin):
    await User.filter(role=Role.ADMIN).exclude(email=admin.email).update(role=Role.USER)
    error = await api.error(SET_ROLE, {"id": admin.id, "role": "USER"}, token=admin.token)
    assert error["extensions"]["code"] == "CONFLICT"
    assert (await User.get(email=admin.email)).role == Role.ADMIN


async def test_an_admin_can_demote_another_admin(api, admin, signup):
    second = await signup("admin2")
    await User.filter(email=second.email).update(role=Role.ADMIN)
    data = await api.data(SET_ROLE, {"id": second.id, "role": "USER"}, token=admin.token)
    assert data["setUserRole"]["role"] == "USER"


async def test_root_fields_that_each_need_the_user_all_answer_in_one_request(api, admin):
    """Root fields resolve concurrently; each sees the same signed-in user, not a half-read token."""
    data = await api.data(
        "{ me { email } systemStats { users } systemStatus { database } models { totalCount } "
        "conversations { totalCount } globalChatSettings { chatModel } }",
        token=admin.token,
    )
    assert data["me"]["email"] == admin.email and data["systemStatus"]["database"] == "ok"
    assert data["systemStats"]["users"] >= 1 and data["models"]["totalCount"] == 0


async def test_a_document_with_several_root_fields_answers_every_one(api, user):
    data = await api.data("{ a: me { id } b: me { id email } me { role } }", token=user.token)
    assert data["a"]["id"] == data["b"]["id"] == user.id and data["me"]["role"] == "USER"
    login = f'login(email: "{user.email}", password: "{PASSWORD}") {{ token }}'
    tokens = await api.data(f"mutation {{ a: {login} b: {login} }}")
    assert tokens["a"]["token"] and tokens["b"]["token"]
