"""Hostile documents and requests over real HTTP: each is refused with the contract's code, and none
has a side effect."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import urlencode

import pytest

from db_models.accounts import User
from db_models.runs import Run, RunStatus, TradingMode
from db_models.trading import TradingModel
from graphql_api.ids import to_global_id
from graphql_api.pagination import MAX_PAGE_SIZE
from graphql_api.security.config import load_security_config
from tests.conftest import PASSWORD, SIGNUP, unique_email

pytestmark = pytest.mark.timeout(60)


def _deep(levels: int) -> str:
    """models > edges > node, then `levels` times runs > edges > node > model, then id: depth 3 + 4 * levels
    (root fields are at depth 0). Pages of 2 keep its cost far below the cost limit."""
    inner = "id"
    for _ in range(levels):
        inner = f"runs(first: 2) {{ edges {{ node {{ model {{ {inner} }} }} }} }}"
    return f"{{ models(first: 2) {{ edges {{ node {{ {inner} }} }} }} }}"


async def _codes(api, document: str, token: str | None = None, variables: dict | None = None) -> set[str]:
    body = await api.execute(document, variables, token=token)
    assert body.get("data") is None, body
    assert body["errors"], body
    for error in body["errors"]:
        assert error["extensions"]["requestId"]
    return {error["extensions"]["code"] for error in body["errors"]}


# --- depth, aliases, tokens, size -------------------------------------------------------------------


async def test_a_document_deeper_than_the_limit_is_too_complex(api, user, app):
    assert app.state.security.config.max_query_depth == 12  # the default this test is written against
    assert (await api.data(_deep(2), token=user.token))["models"]  # depth 11: allowed
    assert await _codes(api, _deep(3), token=user.token) == {"QUERY_TOO_COMPLEX"}  # depth 15
    # Fragments count towards depth as if written inline.
    fragmented = (
        "query { models { edges { node { ...M } } } } fragment M on TradingModel "
        f"{{ {_deep(3)[len('{ models(first: 2) { edges { node { ') : -len(' } } } }')]} }}"
    )
    assert await _codes(api, fragmented, token=user.token) == {"QUERY_TOO_COMPLEX"}


async def test_a_smaller_configured_depth_applies_at_once(api, user, limits):
    limits(max_query_depth=3)  # root fields are at depth 0: owner { id } reaches 4
    assert await _codes(api, "{ models { edges { node { owner { id } } } } }", token=user.token) == {
        "QUERY_TOO_COMPLEX"
    }
    assert (await api.data("{ models { edges { node { id } } } }", token=user.token))["models"]


async def test_too_many_aliases_are_too_complex(api, user, app):
    limit = app.state.security.config.max_aliases
    allowed = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(limit)) + " }"
    assert len(await api.data(allowed, token=user.token)) == limit
    refused = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(limit + 1)) + " }"
    error = await api.error(refused, token=user.token)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert f"Allowed: {limit}" in error["message"]


async def test_too_many_tokens_are_too_complex(api, user, app):
    limit = app.state.security.config.max_tokens
    document = "{ me { " + "id " * (limit + 10) + "} }"
    assert len(document.encode()) < app.state.security.config.max_query_bytes  # the token limit, not the size
    error = await api.error(document, token=user.token)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "tokens" in error["message"]
    # Comments count too, so padding with them does not slip past.
    padded = "#\n" * (limit + 10) + "{ me { id } }"
    assert await api.error_code(padded, token=user.token) == "QUERY_TOO_COMPLEX"


async def test_a_document_over_the_size_limit_is_refused_before_parsing(api, user, app, limits):
    limit = app.state.security.config.max_query_bytes
    # Not even valid GraphQL: a parser would call it a syntax error, but it is never parsed.
    document = "{ me { " + "é" * (limit // 2 + 1)
    assert len(document) < limit < len(document.encode())  # the limit is in bytes, not characters
    response = await api.http.post(
        "/graphql", json={"query": document}, headers={"Authorization": f"Bearer {user.token}"}
    )
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    # Over GET as well.
    limits(max_query_bytes=1000)
    response = await api.http.get("/graphql", params={"query": "{ me { " + "é" * 501})
    assert response.status_code == 413 and response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_a_body_over_the_request_limit_is_refused_unread(api, user, limits):
    limits(max_request_bytes=10_000)
    variables = {"padding": "x" * 20_000}
    response = await api.http.post(
        "/graphql",
        json={"query": "{ me { id } }", "variables": variables},
        headers={"Authorization": f"Bearer {user.token}"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


# --- fragments and batches ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        "query { me { ...A } } fragment A on User { ...B } fragment B on User { ...A }",
        "query { me { ...A } } fragment A on User { id ...A }",
        "query { me { ...A } } fragment A on User { ...B } fragment B on User { ...C } "
        "fragment C on User { ...A email }",
        "query { me { ...Missing } }",
    ],
)
async def test_circular_or_unknown_fragments_are_bad_user_input_and_answered_at_once(api, user, document):
    assert await _codes(api, document, token=user.token) == {"BAD_USER_INPUT"}


async def test_a_batch_of_operations_is_refused_whole(api):
    emails = [unique_email("batch") for _ in range(50)]
    batch = [{"query": SIGNUP, "variables": {"email": email, "password": PASSWORD}} for email in emails]
    response = await api.http.post("/graphql", json=batch)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "one operation per request" in error["message"]
    assert not await User.filter(email__in=emails).exists()


# --- page sizes -----------------------------------------------------------------------------------------

CONNECTION_FIELDS = """{ __schema { types { name fields { name args { name } type { name ofType { name } } } } } }"""


async def test_every_connection_refuses_a_page_over_100(api, admin):
    # Every field returning a connection, found in the served schema, so a new one is not forgotten.
    types = (await api.data(CONNECTION_FIELDS, token=admin.token))["__schema"]["types"]
    paged = {
        (t["name"], f["name"], next(a["name"] for a in f["args"] if a["name"] in ("first", "last")))
        for t in types
        if not t["name"].startswith("__")
        for f in t["fields"] or []
        if ((f["type"]["ofType"] or f["type"])["name"] or "").endswith("Connection")
    }
    owner = await User.get(email=admin.email)
    model = await TradingModel.create(
        owner=owner,
        name="paged",
        signature="paged",
        allowed_tickers=["AAPL"],
        initial_cash=10000,
        ai_model="local/momentum",
        parameters={},
    )
    run = await Run.create(model=model, run_number=1, mode=TradingMode.DAILY, status=RunStatus.COMPLETED)
    conversation = (await api.data("mutation { createConversation { id } }", token=admin.token))["createConversation"][
        "id"
    ]
    parents = {
        "Query": ("", "{ %s }", {}),
        "TradingModel": ("$id: ID!", "{ model(id: $id) { %s } }", {"id": to_global_id("TradingModel", model.id)}),
        "Run": ("$id: ID!", "{ run(id: $id) { %s } }", {"id": to_global_id("Run", run.id)}),
        "Conversation": ("$id: ID!", "{ conversation(id: $id) { %s } }", {"id": conversation}),
    }
    assert {parent for parent, _, _ in paged} <= set(parents), paged
    assert len(paged) >= 11
    for parent, field, argument in sorted(paged):
        declaration, shape, variables = parents[parent]
        for size, allowed in ((MAX_PAGE_SIZE, True), (MAX_PAGE_SIZE + 1, False), (-1, False)):
            document = (
                f"query{f'({declaration})' if declaration else ''} "
                + shape % f"{field}({argument}: {size}) {{ totalCount }}"
            )
            body = await api.execute(document, variables, token=admin.token)
            if allowed:
                assert not body.get("errors"), (parent, field, body)
            else:
                assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], (parent, field, body)


# --- introspection ----------------------------------------------------------------------------------------

INTROSPECTION = ["{ __schema { queryType { name } } }", '{ __type(name: "User") { fields { name } } }']


async def test_introspection_is_refused_in_production_and_allowed_otherwise(api, user, app, settings, limits):
    for document in INTROSPECTION:
        assert not (await api.execute(document, token=user.token)).get("errors")
    production = load_security_config(dataclasses.replace(settings, env="production"))
    assert production.introspection is False
    limits(introspection=production.introspection)
    for document in INTROSPECTION:
        for token in (None, user.token):
            body = await api.execute(document, token=token)
            assert body["data"] is None
            assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}
            assert "introspection has been disabled" in body["errors"][0]["message"]
    assert (await api.data("{ me { __typename id } }", token=user.token))["me"]["__typename"] == "User"


# --- methods and content types --------------------------------------------------------------------------


def _signup_document(email: str) -> str:
    return f'mutation {{ signup(email: "{email}", password: "{PASSWORD}") {{ token }} }}'


async def test_a_mutation_over_get_is_refused_with_no_side_effect(api):
    email = unique_email("get")
    response = await api.http.get("/graphql", params={"query": _signup_document(email)})
    assert response.status_code in (400, 405)
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert not await User.filter(email=email).exists()
    # The same mutation POSTed as JSON would have worked.
    assert (await api.data(_signup_document(email)))["signup"]["token"]
    assert await User.filter(email=email).exists()


@pytest.mark.parametrize(
    "content_type, encode",
    [
        ("text/plain", lambda doc: json.dumps({"query": doc})),
        ("text/plain;charset=UTF-8", lambda doc: json.dumps({"query": doc})),
        ("application/x-www-form-urlencoded", lambda doc: urlencode({"query": doc})),
        (
            "multipart/form-data; boundary=x",
            lambda doc: f'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{doc}\r\n--x--\r\n',
        ),
        (None, lambda doc: json.dumps({"query": doc})),
    ],
)
async def test_a_simple_cross_site_post_is_refused_as_csrf_with_no_side_effect(api, content_type, encode):
    email = unique_email("csrf")
    headers = {"content-type": content_type} if content_type else {}
    response = await api.http.post("/graphql", content=encode(_signup_document(email)).encode(), headers=headers)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["reason"] == "CSRF"
    assert not await User.filter(email=email).exists()


async def test_a_non_json_post_with_a_preflight_header_is_still_not_executed(api):
    email = unique_email("preflight")
    response = await api.http.post(
        "/graphql",
        content=json.dumps({"query": _signup_document(email)}),
        headers={"content-type": "text/plain", "x-requested-with": "XMLHttpRequest"},
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert not await User.filter(email=email).exists()
