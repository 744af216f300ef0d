"""Frontends on another origin: the origins in AIBT_CORS_ORIGINS get CORS answers over real HTTP (and may
open websockets); every other origin gets no CORS header at all."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from db_models.settings import load_settings
from graphql_api.app import create_app
from graphql_api.security.config import load_security_config, parse_origins
from tests.support.ws_session import next_message

FRONTEND = "https://trader.example"
OTHER_FRONTEND = "http://localhost:5173"
STRANGER = "https://evil.example"
ME = "{ me { email } }"


@pytest.fixture
async def http(server_url):
    async with httpx.AsyncClient(base_url=server_url, timeout=10) as client:
        yield client


@pytest.fixture
def listed(limits):
    """The running app allows FRONTEND and OTHER_FRONTEND for this test."""
    limits(cors_origins=parse_origins(f"{FRONTEND}, {OTHER_FRONTEND}"))


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.lower().startswith("access-control-")}


def preflight(http: httpx.AsyncClient, origin: str, method: str = "POST", headers: str | None = None):
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        request_headers["Access-Control-Request-Headers"] = headers
    return http.options("/graphql", headers=request_headers)


def listed_names(value: str) -> set[str]:
    return {name.strip().lower() for name in value.split(",")}


async def test_a_listed_origin_is_answered_a_preflight_with_the_methods_and_headers_the_api_uses(http, listed):
    response = await preflight(http, FRONTEND, headers="authorization, content-type, x-request-id")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert listed_names(response.headers["access-control-allow-methods"]) == {"get", "post"}
    assert {"authorization", "content-type", "x-request-id"} <= listed_names(
        response.headers["access-control-allow-headers"]
    )
    assert response.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in response.headers  # bearer tokens, never cookies
    assert "Origin" in response.headers["vary"]


async def test_a_listed_origin_reads_the_response_and_its_request_id(http, listed, user):
    response = await http.post(
        "/graphql",
        json={"query": ME},
        headers={"Origin": OTHER_FRONTEND, "Authorization": f"Bearer {user.token}", "X-Request-ID": "cors-call-0001"},
    )
    assert response.json() == {"data": {"me": {"email": user.email}}}
    assert response.headers["access-control-allow-origin"] == OTHER_FRONTEND
    assert listed_names(response.headers["access-control-expose-headers"]) == {"x-request-id", "retry-after"}
    assert response.headers["x-request-id"] == "cors-call-0001"
    assert "Origin" in response.headers["vary"]


def refusal(response: httpx.Response) -> dict:
    """The one error of a refused preflight, answered as the API answers other refused requests: JSON with a code
    and the request id, and no CORS grant at all."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert cors_headers(response) == {}
    assert "Origin" in response.headers["vary"]
    body = response.json()
    assert body["data"] is None and len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["reason"] == "CORS"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert error["extensions"]["allowedMethods"] == ["GET", "POST"]
    assert error["extensions"]["allowedHeaders"] == ["Authorization", "Content-Type", "X-Request-ID"]
    return error


async def test_a_listed_origin_asking_for_another_method_or_header_is_refused_in_json_and_granted_nothing(http, listed):
    wrong_method = refusal(await preflight(http, FRONTEND, method="DELETE"))
    assert wrong_method["message"].startswith("This CORS preflight asks for the method 'DELETE': cross-origin")
    wrong_header = refusal(await preflight(http, FRONTEND, headers="content-type, x-api-key"))
    assert "asks for the headers 'x-api-key':" in wrong_header["message"]
    both = refusal(await preflight(http, FRONTEND, method="PUT", headers="authorization, cookie, x-secret"))
    assert "the method 'PUT' and the headers 'cookie', 'x-secret':" in both["message"]
    many = ", ".join(f"x-custom-{i}-" + "y" * 100 for i in range(8))
    long_list = refusal(await preflight(http, FRONTEND, headers=many))
    assert "and 3 more:" in long_list["message"] and "x-custom-5" not in long_list["message"]
    assert len(long_list["message"]) < 600  # the header names are cut, not repeated whole
    private = await http.options(
        "/graphql",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert "private network access" in refusal(private)["message"]


async def test_a_refused_preflight_carries_the_request_id_the_client_sent(http, listed):
    response = await http.options(
        "/graphql",
        headers={"Origin": FRONTEND, "Access-Control-Request-Method": "PATCH", "X-Request-ID": "preflight-0001"},
    )
    assert refusal(response)["extensions"]["requestId"] == "preflight-0001"


async def test_a_star_refuses_other_methods_as_a_list_does(http, limits):
    limits(cors_origins=parse_origins("*"))
    refusal(await preflight(http, STRANGER, method="DELETE"))


async def test_other_origins_get_no_cors_headers_on_preflights_or_responses(http, listed, user):
    refused = await preflight(http, STRANGER, headers="authorization, content-type")
    assert refused.status_code == 405  # reaches the app, which has no OPTIONS route
    assert cors_headers(refused) == {}
    answered = await http.post(
        "/graphql", json={"query": ME}, headers={"Origin": STRANGER, "Authorization": f"Bearer {user.token}"}
    )
    assert answered.status_code == 200 and cors_headers(answered) == {}
    assert "x-request-id" in answered.headers  # the API's own headers are unchanged


async def test_with_no_origins_listed_no_origin_gets_cors_headers(http, limits):
    limits(cors_origins=frozenset())
    assert cors_headers(await preflight(http, FRONTEND)) == {}
    answered = await http.post("/graphql", json={"query": "{ aiModels { id } }"}, headers={"Origin": FRONTEND})
    assert answered.status_code == 200 and cors_headers(answered) == {}
    assert cors_headers(await http.get("/healthz", headers={"Origin": FRONTEND})) == {}


async def test_a_star_allows_every_origin_without_credentials(http, limits):
    limits(cors_origins=parse_origins("*"))
    response = await preflight(http, STRANGER, headers="authorization")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == STRANGER
    assert "access-control-allow-credentials" not in response.headers


async def test_a_listed_origin_may_open_a_websocket_and_an_unlisted_one_may_not(ws_url, user, limits):
    limits(cors_origins=parse_origins(FRONTEND))
    socket = await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"], origin=FRONTEND)
    try:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {user.token}"}}))
        assert (await next_message(socket))["type"] == "connection_ack"
    finally:
        await socket.close()
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"], origin=OTHER_FRONTEND)
    assert refused.value.response.status_code == 403


def test_aibt_cors_origins_is_read_as_browsers_send_origins(settings, monkeypatch):
    monkeypatch.setenv("AIBT_CORS_ORIGINS", " https://App.Example.com:443 ,http://localhost:5173,, ")
    assert load_security_config(settings).cors_origins == {"https://app.example.com", "http://localhost:5173"}
    monkeypatch.setenv("AIBT_CORS_ORIGINS", "*")
    assert load_security_config(settings).cors_origins == {"*"}
    monkeypatch.delenv("AIBT_CORS_ORIGINS")
    assert load_security_config(settings).cors_origins == frozenset()


@pytest.mark.parametrize("value", ["app.example.com", "https://app.example.com/spa", "null"])
def test_an_entry_that_is_not_an_origin_stops_the_app_from_starting(settings, monkeypatch, value):
    monkeypatch.setenv("AIBT_CORS_ORIGINS", f"{FRONTEND},{value}")
    with pytest.raises(ValueError, match="AIBT_CORS_ORIGINS: Invalid origin"):
        create_app(load_settings())
