"""Malformed requests over real HTTP: every one is answered as JSON with BAD_USER_INPUT (or refused by the
server before the app) and the request id, never a plain-text 500, an INTERNAL or a stored NUL."""

from __future__ import annotations

import asyncio
import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest
import websockets

from db_models.accounts import User
from db_models.chat import Conversation
from db_models.trading import TradingModel
from tests.conftest import PASSWORD, unique_email

pytestmark = pytest.mark.timeout(90)

LOGIN = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }"
SIGNUP = "mutation($email: String!, $password: String!, $name: String) { signup(email: $email, password: $password, "
SIGNUP += "displayName: $name) { token } }"
CREATE_MODEL = 'mutation($name: String!) { createModel(input: {name: $name, allowedTickers: ["AAPL"], '
CREATE_MODEL += 'aiModel: "local/momentum"}) { id } }'
RENAME = "mutation($id: ID!, $title: String!) { renameConversation(id: $id, title: $title) { title } }"
SEND = "mutation($id: ID!, $content: String!) { sendMessage(conversationId: $id, content: $content) { id } }"
SEARCH = "query($search: String) { conversations(search: $search) { totalCount } }"


def _bad_input(response: httpx.Response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    return error


async def _post_raw(api, body: bytes, token: str | None = None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await api.http.post("/graphql", content=body, headers=headers)


@pytest.mark.parametrize(
    "body",
    [
        b"null",
        b"5",
        b'"x"',
        b"true",
        b"{",
        b'{"query": "{ me { id } }", "variables": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1001,
        b'{"query": "{ me { id } }", "variables": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        b'{"query": "{ me { id \xff } }"}',
        b'\xff\xfe{"query": "{ me { id } }"}',
        b'{"query": 5}',
        b'{"query": "{ me { id } }", "variables": []}',
        b'{"query": "{ me { id } }", "operationName": 5}',
        b'{"query": "{ me { id } }", "operationName": ["a"]}',
        b'{"query": "{ me { id } }", "extensions": "x"}',
        b'{"query": "{ me { id } }", "variables": {"n": ' + b"9" * 100_000 + b"}}",
    ],
)
async def test_a_malformed_body_is_bad_user_input_as_json_with_the_request_id(api, user, body):
    _bad_input(await _post_raw(api, body, user.token))


async def test_variables_nested_past_the_limit_are_refused_and_below_it_pass_to_graphql(api, user, limits):
    limits(max_json_depth=8)
    nested: object = 1
    for _ in range(10):
        nested = {"a": nested}
    error = _bad_input(await api.http.post("/graphql", json={"query": "{ me { id } }", "variables": {"x": nested}}))
    assert "nested" in error["message"]
    assert (await api.data("{ me { id } }", {"x": {"a": 1}}, token=user.token))["me"]


def _raw_json(query: str, **variables: str) -> bytes:
    """JSON with \\ud800 escapes kept as escapes: json.dumps would refuse to write a lone surrogate."""
    return json.dumps({"query": query, "variables": variables}).replace("SURROGATE", "\\ud800").encode()


@pytest.mark.parametrize("character", ["SURROGATE", "\u0000"])
async def test_a_lone_surrogate_or_nul_in_any_string_input_is_bad_user_input(api, user, character):
    conversation = (await api.data("mutation { createConversation { id title } }", token=user.token))[
        "createConversation"
    ]
    bad = f"x{character}y"
    requests = [
        (LOGIN, {"email": bad, "password": PASSWORD}, None),
        (LOGIN, {"email": user.email, "password": bad}, None),
        (SIGNUP, {"email": unique_email(), "password": PASSWORD, "name": bad}, None),
        (SIGNUP, {"email": bad, "password": PASSWORD}, None),
        (CREATE_MODEL, {"name": bad}, user.token),
        (RENAME, {"id": conversation["id"], "title": bad}, user.token),
        (SEND, {"id": conversation["id"], "content": bad}, user.token),
        (SEARCH, {"search": bad}, user.token),
    ]
    for query, variables, token in requests:
        body = _raw_json(query, **variables)
        _bad_input(await _post_raw(api, body, token))
    # A variable name or an operation name is a string too.
    _bad_input(await _post_raw(api, json.dumps({"query": "{ me { id } }", "operationName": bad}).encode()))
    stored = await Conversation.filter(user__email=user.email).values_list("title", flat=True)
    assert stored == [conversation["title"]]
    assert not await TradingModel.filter(owner__email=user.email).exists()


async def test_nul_written_into_the_document_itself_is_refused_and_never_stored(api, user):
    conversation = (await api.data("mutation { createConversation { id } }", token=user.token))["createConversation"]
    document = f'mutation {{ renameConversation(id: "{conversation["id"]}", title: "a\\u0000b") {{ title }} }}'
    error = _bad_input(await api.http.post("/graphql", json={"query": document}, headers=_auth(user)), status=200)
    assert "NUL" in error["message"]
    titles = await Conversation.filter(user__email=user.email).values_list("title", flat=True)
    assert titles and not any("\x00" in title for title in titles)
    # A lone surrogate escape in the document is a syntax error.
    document = 'mutation { login(email: "\\ud800", password: "x") { token } }'
    _bad_input(await api.http.post("/graphql", json={"query": document}), status=200)


def _auth(account) -> dict[str, str]:
    return {"authorization": f"Bearer {account.token}"}


async def test_get_requests_get_the_same_checks(api, user):
    _bad_input(await api.http.get("/graphql", params={"query": "{ me { id } }", "variables": "5"}))
    _bad_input(await api.http.get("/graphql", params={"query": "{ me { id } }", "variables": '{"a": "\\u0000"}'}))
    _bad_input(await api.http.get("/graphql", params={"query": "{ me { id } }", "operationName": "a\x00"}))
    ok = await api.http.get("/graphql", params={"query": "{ me { id } }"}, headers=_auth(user))
    assert ok.json()["data"]["me"]["id"] == user.id


async def test_a_subscription_over_http_is_bad_user_input_not_internal(api, user):
    document = 'subscription { runEvents(runId: "UnVuOjE=") { seq } }'
    response = await api.http.post("/graphql", json={"query": document}, headers=_auth(user))
    assert "websocket" in _bad_input(response, status=200)["message"]
    _bad_input(await api.http.get("/graphql", params={"query": document}, headers=_auth(user)), status=200)


# --- headers ------------------------------------------------------------------------------------------------


def _send_raw(url: str, head: bytes, total_header_bytes: int) -> bytes:
    """Sends a request whose headers hold total_header_bytes of padding, as fast as the server reads it;
    returns what the server answered (its first bytes) once it stops reading or answers."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head)
        padding = b"X-Padding: " + b"a" * 60_000 + b"\r\n"
        sent = 0
        try:
            while sent < total_header_bytes:
                sock.sendall(padding)
                sent += len(padding)
            sock.sendall(b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: what it answered before is still to be read
        try:
            return sock.recv(200)
        except ConnectionResetError:
            return b""


async def test_headers_over_the_limit_are_refused_before_the_app_and_the_server_keeps_serving(
    api, server_url, app, user
):
    limit = app.state.settings.max_header_bytes
    head = b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
    answer = await asyncio.to_thread(_send_raw, server_url, head, 50 * 1024 * 1024)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer
    # Just under the limit is served.
    response = await api.http.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={**_auth(user), "x-padding": "a" * (limit // 2)}
    )
    assert response.json()["data"]["me"]["id"] == user.id
    assert (await api.http.get("/healthz")).status_code == 200
    assert await User.filter(email=user.email).exists()


# --- methods and echoed input -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "HEAD"])
async def test_methods_other_than_get_and_post_are_refused_as_json_naming_the_methods_served(api, user, method):
    response = await api.http.request(method, "/graphql", headers=_auth(user))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"].startswith("application/json")
    if method != "HEAD":  # a HEAD answer has no body
        error = _bad_input(response, status=405)
        assert error["extensions"]["reason"] == "METHOD" and method in error["message"]


async def test_a_long_input_echoed_by_every_alias_comes_back_cut_not_once_per_alias(api, user):
    long_id = "x" * 500_000
    document = "query($id: ID!) { " + " ".join(f"a{n}: model(id: $id) {{ id }}" for n in range(30)) + " }"
    response = await api.http.post(
        "/graphql", json={"query": document, "variables": {"id": long_id}}, headers=_auth(user)
    )
    errors = response.json()["errors"]
    assert len(errors) == 30 and {e["extensions"]["code"] for e in errors} == {"NOT_FOUND"}
    assert all(len(e["message"]) < 1_100 and e["message"].endswith("(cut at 1,000 characters)") for e in errors)
    assert len(response.content) < 100_000


def _send_head_at_once(url: str, header_bytes: int) -> bytes:
    parts = urlsplit(url)
    padding = b"".join(b"X-Pad-%d: %s\r\n" % (n, b"a" * 1000) for n in range(header_bytes // 1000))
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + padding + b"\r\n")  # one write: one read
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


async def test_headers_over_the_limit_sent_in_one_piece_are_refused_too(api, server_url, app):
    limit = app.state.settings.max_header_bytes
    answer = await asyncio.to_thread(_send_head_at_once, server_url, limit * 6)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431"), answer[:300]
    error = json.loads(body)["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["maxBytes"] == limit
    assert error["extensions"]["requestId"].encode() in head
    assert (await api.http.get("/healthz", headers={"x-padding": "a" * (limit // 2)})).status_code == 200
    ws_url = server_url.replace("http://", "ws://") + "/graphql"
    padding = {f"x-pad-{n}": "a" * 1000 for n in range(limit // 500)}
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"], additional_headers=padding)
    assert refused.value.response.status_code == 403
