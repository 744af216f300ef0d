"""Rate limits over real HTTP: per address and per user on login, signup and the expensive mutations,
growing lockouts after failed logins, and counters that API replicas share through Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid

import httpx
import pytest

from db_models.accounts import User
from graphql_api.errors import RateLimited
from graphql_api.security.config import RateRule
from graphql_api.security.rate_limits import MemoryCounters, RateLimiter, RedisCounters
from graphql_api.security.runtime import Security
from tests.conftest import PASSWORD, SIGNUP, unique_email
from tests.support.processes import aibt_server, clean_env

pytestmark = pytest.mark.timeout(60)

REDIS_URL = os.environ.get("AIBT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LOGIN = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }"
START_DAILY = """mutation($model: ID!) { startDailyRun(modelId: $model, input: {startDate: "2025-01-02",
  endDate: "2025-01-03"}) { id } }"""
START_INTRADAY = """mutation($model: ID!) { startIntradayRun(modelId: $model, input: {symbol: "AAPL",
  date: "2025-01-02"}) { id } }"""
SEND = 'mutation($id: ID!) { sendMessage(conversationId: $id, content: "hi") { id } }'
NO_MODEL = "VHJhZGluZ01vZGVsOjk5OTk5OTk="  # TradingModel:9999999, which does not exist
NO_CONVERSATION = "Q29udmVyc2F0aW9uOjk5OTk5OTk="  # Conversation:9999999


def _rules(app, **rules: str) -> None:
    """_rules(app, login_ip="3/60") sets (action, scope) rules on the running app (the limits fixture restores them)."""
    for name, text in rules.items():
        action, _, scope = name.rpartition("_")
        app.state.security.config.rate_limits[(action, scope)] = RateRule.parse(text)


async def _login(api, email: str, password: str) -> dict:
    return await api.execute(LOGIN, {"email": email, "password": password})


def _code(body: dict) -> str | None:
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else None


def _assert_limited(body: dict, at_most: float) -> int:
    error = body["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED", body
    retry = error["extensions"]["retryAfterSeconds"]
    assert isinstance(retry, int) and 1 <= retry <= at_most, retry
    assert error["extensions"]["requestId"]
    return retry


# --- login and signup -------------------------------------------------------------------------------------


async def test_logins_from_one_address_are_limited_whatever_the_credentials(api, app, user, limits):
    _rules(app, login_ip="3/60")
    for _ in range(3):
        assert _code(await _login(api, unique_email("nobody"), "wrong password!")) == "UNAUTHENTICATED"
    response = await api.http.post(
        "/graphql", json={"query": LOGIN, "variables": {"email": user.email, "password": PASSWORD}}
    )
    retry = _assert_limited(response.json(), 60)
    assert response.headers["retry-after"] == str(retry)


async def test_logins_for_one_email_are_limited_and_other_emails_are_not(api, app, signup, limits):
    _rules(app, login_email="2/60")
    first, second = await signup("first"), await signup("second")
    for _ in range(2):
        assert (await _login(api, first.email, PASSWORD))["data"]["login"]["token"]
    _assert_limited(await _login(api, first.email.upper(), PASSWORD), 60)  # the same email in another case
    assert (await _login(api, second.email, PASSWORD))["data"]["login"]["token"]


async def test_repeated_failed_logins_lock_the_email_out_for_longer_and_longer(api, app, signup, limits):
    # Lockouts of 2, 4 and 8 s: long enough that a slow, busy machine still checks each one while it holds.
    limits(login_free_failures=2, login_lockout_base_seconds=2.0, login_lockout_max_seconds=8.0)
    victim, bystander = await signup("victim"), await signup("bystander")
    for _ in range(2):  # the free failures
        assert _code(await _login(api, victim.email, "wrong password!")) == "UNAUTHENTICATED"
    assert _code(await _login(api, victim.email, "wrong password!")) == "UNAUTHENTICATED"  # locks for 2 s
    # Locked: even the right password is not tried, so guessing during the lockout learns nothing.
    first = _assert_limited(await _login(api, victim.email, PASSWORD), 2)
    assert (await _login(api, bystander.email, PASSWORD))["data"]["login"]["token"]
    await asyncio.sleep(2.1)
    assert _code(await _login(api, victim.email, "wrong password!")) == "UNAUTHENTICATED"  # locks for 4 s
    second = _assert_limited(await _login(api, victim.email, PASSWORD), 4)
    await asyncio.sleep(4.1)
    assert _code(await _login(api, victim.email, "wrong password!")) == "UNAUTHENTICATED"  # locks for 8 s
    third = _assert_limited(await _login(api, victim.email, PASSWORD), 8)
    assert first < second < third  # each lockout longer than the last
    await asyncio.sleep(8.1)
    # A success forgets the failures: the next failure is free again.
    assert (await _login(api, victim.email, PASSWORD))["data"]["login"]["token"]
    assert _code(await _login(api, victim.email, "wrong password!")) == "UNAUTHENTICATED"
    assert (await _login(api, victim.email, PASSWORD))["data"]["login"]["token"]


async def test_signups_from_one_address_are_limited_and_create_nothing_once_limited(api, app, limits):
    _rules(app, signup_ip="2/60")
    for _ in range(2):
        assert (await api.data(SIGNUP, {"email": unique_email("signup"), "password": PASSWORD}))["signup"]["token"]
    email = unique_email("refused")
    _assert_limited(await api.execute(SIGNUP, {"email": email, "password": PASSWORD}), 60)
    assert not await User.filter(email=email).exists()


# --- expensive mutations ----------------------------------------------------------------------------------


async def test_starting_runs_is_limited_per_user_across_both_run_kinds(api, app, signup, limits):
    _rules(app, start_run_user="2/60", start_run_ip="100/60")
    alice, bob = await signup("alice"), await signup("bob")
    # The limit applies before any work: these name no model of theirs and would answer NOT_FOUND.
    assert _code(await api.execute(START_DAILY, {"model": NO_MODEL}, token=alice.token)) == "NOT_FOUND"
    assert _code(await api.execute(START_INTRADAY, {"model": NO_MODEL}, token=alice.token)) == "NOT_FOUND"
    _assert_limited(await api.execute(START_DAILY, {"model": NO_MODEL}, token=alice.token), 60)
    _assert_limited(await api.execute(START_INTRADAY, {"model": NO_MODEL}, token=alice.token), 60)
    assert _code(await api.execute(START_DAILY, {"model": NO_MODEL}, token=bob.token)) == "NOT_FOUND"


async def test_starting_runs_is_limited_per_address_across_users(api, app, signup, limits):
    _rules(app, start_run_user="100/60", start_run_ip="3/60")
    accounts = [await signup("runner") for _ in range(4)]
    for account in accounts[:3]:
        assert _code(await api.execute(START_DAILY, {"model": NO_MODEL}, token=account.token)) == "NOT_FOUND"
    _assert_limited(await api.execute(START_DAILY, {"model": NO_MODEL}, token=accounts[3].token), 60)


async def test_sending_messages_is_limited_per_user_and_per_address(api, app, signup, limits):
    _rules(app, send_message_user="2/60", send_message_ip="3/60")
    alice, bob = await signup("alice"), await signup("bob")
    for _ in range(2):
        assert _code(await api.execute(SEND, {"id": NO_CONVERSATION}, token=alice.token)) == "NOT_FOUND"
    _assert_limited(await api.execute(SEND, {"id": NO_CONVERSATION}, token=alice.token), 60)
    # Alice's refused third try still counted for the address: bob's first request is its fourth.
    _assert_limited(await api.execute(SEND, {"id": NO_CONVERSATION}, token=bob.token), 60)


async def test_unauthenticated_calls_of_expensive_mutations_are_not_counted(api, app, limits):
    _rules(app, start_run_ip="1/60")
    for _ in range(3):
        assert _code(await api.execute(START_DAILY, {"model": NO_MODEL})) == "UNAUTHENTICATED"


# --- where the counters live ------------------------------------------------------------------------------


async def test_counters_are_in_memory_without_redis_and_in_redis_with_it(settings):
    assert isinstance(Security.from_settings(settings).limiter.store, MemoryCounters)
    security = Security.from_settings(dataclasses.replace(settings, redis_url=REDIS_URL))
    assert isinstance(security.limiter.store, RedisCounters)
    await security.close()


async def test_replicas_sharing_redis_share_their_counts(api, app, limits):
    """Two API replicas: this server and another limiter on the same Redis and prefix."""
    prefix = f"aibt-test-{uuid.uuid4().hex[:8]}:"
    here, there = RedisCounters(REDIS_URL, prefix), RedisCounters(REDIS_URL, prefix)
    security = app.state.security
    original = security.limiter.store
    security.limiter.store = here
    try:
        _rules(app, signup_ip="3/60")
        for _ in range(2):  # the other replica already served two signups from this address
            await there.hit("signup:ip:127.0.0.1", 60)
        assert (await api.data(SIGNUP, {"email": unique_email("shared"), "password": PASSWORD}))["signup"]["token"]
        _assert_limited(await api.execute(SIGNUP, {"email": unique_email("shared"), "password": PASSWORD}), 60)
        count, left = await there.hit("signup:ip:127.0.0.1", 60)
        assert count == 5 and 0 < left <= 60  # both replicas see every hit
        # Failed-login lockouts are shared too.
        limits(login_free_failures=0, login_lockout_base_seconds=30)
        email = unique_email("locked")
        assert _code(await _login(api, email, "wrong password!")) == "UNAUTHENTICATED"
        other_replica = RateLimiter(security.config, there)
        with pytest.raises(RateLimited) as refused:
            await other_replica.check_login_lockout(email)
        assert refused.value.extensions["retryAfterSeconds"] >= 29
    finally:
        security.limiter.store = original
        await here.reset()
        await here.close()
        await there.close()


# --- who the client is ------------------------------------------------------------------------------------------


async def test_a_forwarded_for_header_does_not_change_the_address_unless_the_proxy_is_trusted(api, app, limits):
    assert app.state.settings.forwarded_allow_ips == ()  # the default: no proxy is believed, loopback neither
    _rules(app, login_ip="3/60")
    for i in range(3):
        response = await api.http.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"email": unique_email("xff"), "password": "wrong password!"}},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
        assert _code(response.json()) == "UNAUTHENTICATED"
    response = await api.http.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"email": unique_email("xff"), "password": "wrong password!"}},
        headers={"X-Forwarded-For": "203.0.113.99"},
    )
    _assert_limited(response.json(), 60)


def test_a_listed_proxy_is_believed_about_the_clients_address(tmp_path):
    env = clean_env(
        AIBT_DATA_DIR=str(tmp_path / "d"),
        AIBT_FORWARDED_ALLOW_IPS="127.0.0.1",
        AIBT_RATE_LIMIT_LOGIN_IP="2/60",
        AIBT_SEED_PRICES="0",
    )
    with aibt_server(env, tmp_path) as url:

        def login(address: str) -> str | None:
            body = {"query": LOGIN, "variables": {"email": unique_email("proxied"), "password": "wrong password!"}}
            return _code(httpx.post(f"{url}/graphql", json=body, headers={"X-Forwarded-For": address}).json())

        assert [login(f"198.51.100.{i}") for i in range(4)] == ["UNAUTHENTICATED"] * 4  # four clients
        assert [login("198.51.100.200") for _ in range(3)][-1] == "RATE_LIMITED"  # one client, over its limit


# --- the query-cost budget ------------------------------------------------------------------------------------

PAGE_OF_TEN = "{ models(first: 10) { edges { node { id } } } }"  # costs 1 + 10 * (edge + node) = 21


async def test_queries_from_one_address_spend_a_budget_of_cost_points(api, app, user, limits):
    _rules(app, query_cost_ip="50/60")
    for _ in range(2):
        assert (await api.data(PAGE_OF_TEN, token=user.token))["models"]
    response = await api.http.post(
        "/graphql", json={"query": PAGE_OF_TEN}, headers={"Authorization": f"Bearer {user.token}"}
    )
    retry = _assert_limited(response.json(), 60)
    assert response.headers["retry-after"] == str(retry)
    error = response.json()["errors"][0]
    assert error["extensions"]["cost"] == 21 and error["extensions"]["limit"] == 50
    assert "budget" in error["message"]


async def test_an_unreachable_counter_store_does_not_stop_queries(api, app, user, limits):
    _rules(app, query_cost_ip="50/60")
    security = app.state.security
    original = security.limiter.store
    security.limiter.store = RedisCounters("redis://127.0.0.1:9/0", "aibt-test-down:")  # nothing listens there
    try:
        for _ in range(4):
            assert (await api.data(PAGE_OF_TEN, token=user.token))["models"]
    finally:
        await security.limiter.store.close()
        security.limiter.store = original
