"""Documents built to be expensive, over real HTTP: refused with QUERY_TOO_COMPLEX before they run (cost,
shape), capped after (response size), and never holding up the event loop while they are looked at."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
import uuid

import pytest

from graphql_api import document_cache
from graphql_api.market.queries import MAX_BARS
from graphql_api.security.config import load_security_config
from graphql_api.security.query_cost import LIST_SIZES
from tests.support import price_fixtures as px
from tests.support.queries import count_sql, new_request_id

pytestmark = pytest.mark.timeout(90)

FULL_RANGE = 'stockPrices(symbol: "AAPL", from: "2000-01-01", to: "2013-12-31") { timestamp open high low close }'
RUN_PAGE = "positions { edges { node { id } } } logs { edges { node { messages } } } equityCurve { value }"


def _aliases(count: int, selection: str) -> str:
    return "{ " + " ".join(f"a{i}: {selection}" for i in range(count)) + " }"


def _refusal(body: dict) -> dict:
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error
    assert error["extensions"]["requestId"]
    return error


# --- cost, estimated before execution ---------------------------------------------------------------------


async def test_thirty_full_range_price_series_are_refused_unauthenticated_before_any_query(api, app):
    limit = app.state.security.config.max_query_cost
    request_id = new_request_id()
    with count_sql(request_id) as statements:
        body = await api.execute(_aliases(30, FULL_RANGE), request_id=request_id)
    error = _refusal(body)
    assert error["extensions"]["maxCost"] == limit
    assert error["extensions"]["cost"] > limit
    assert f"{error['extensions']['cost']:,}" in error["message"]
    assert statements == []  # nothing was read


async def test_one_full_range_price_series_is_within_the_limit(api):
    async with px.test_bars():
        body = await api.execute("{ " + FULL_RANGE + " }")
    assert not body.get("errors"), body


async def test_twenty_nine_runs_with_their_pages_and_curves_are_refused(api, user):
    error = _refusal(await api.execute(_aliases(29, f'run(id: "UnVuOjE=") {{ {RUN_PAGE} }}'), token=user.token))
    assert error["extensions"]["cost"] > error["extensions"]["maxCost"]
    # One run with the same pages is an ordinary request: it runs (and finds no such run).
    body = await api.execute(f'{{ run(id: "UnVuOjE=") {{ {RUN_PAGE} }} }}', token=user.token)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]


async def test_nested_pages_multiply_and_the_configured_limit_applies_at_once(api, user, limits):
    nested = "query($n: Int) { models(first: $n) { edges { node { runs(first: $n) { edges { node { id } } } } } } }"
    error = _refusal(await api.execute(nested, {"n": 100}, token=user.token))
    assert error["extensions"]["cost"] == 1 + 100 * (1 + 1 + 1 + 100 * (1 + 1))  # models, edges, nodes, runs
    assert not (await api.execute(nested, {"n": 10}, token=user.token)).get("errors")
    limits(max_query_cost=50)
    assert _refusal(await api.execute(nested, {"n": 10}, token=user.token))["extensions"]["maxCost"] == 50


async def test_a_mutations_root_fields_cost_more_than_a_querys(api, user, limits):
    limits(max_query_cost=25)
    assert not (await api.execute("{ a: me { id } b: me { id } }", token=user.token)).get("errors")
    error = _refusal(await api.execute("mutation { a: logout b: logout c: logout }", token=user.token))
    assert error["extensions"]["cost"] == 30
    assert (await api.data("{ me { id } }", token=user.token))["me"]  # nothing ran: the token is still valid


LIST_FIELDS = "{ __schema { types { name fields { name type { kind name ofType { kind name ofType { kind name "
LIST_FIELDS += "ofType { kind name } } } } } } } }"


def _list_of_objects(field_type: dict) -> bool:
    kinds = []
    while field_type:
        kinds.append((field_type["kind"], field_type["name"]))
        field_type = field_type.get("ofType")
    return any(kind == "LIST" for kind, _ in kinds) and kinds[-1][0] in ("OBJECT", "INTERFACE", "UNION")


async def test_every_list_of_objects_in_the_schema_has_a_size_estimate(api, user):
    types = (await api.data(LIST_FIELDS, token=user.token))["__schema"]["types"]
    lists = {
        (t["name"], f["name"])
        for t in types
        if not t["name"].startswith("__")
        for f in t["fields"] or []
        if _list_of_objects(f["type"])
    }
    unsized = {pair for pair in lists if pair[1] != "edges"} - set(LIST_SIZES)
    assert lists and not unsized, f"add these to LIST_SIZES in graphql_api/security/query_cost.py: {unsized}"


# --- response size ------------------------------------------------------------------------------------------


async def test_a_response_over_the_size_limit_is_refused_with_a_code_instead_of_sent(api, limits):
    async with px.test_bars():
        whole = await api.http.post("/graphql", json={"query": "{ " + FULL_RANGE + " }"})
        assert whole.status_code == 200 and not whole.json().get("errors")
        limits(max_response_bytes=len(whole.content) - 1)
        response = await api.http.post("/graphql", json={"query": "{ " + FULL_RANGE + " }"})
    error = _refusal(response.json())
    assert error["extensions"]["maxResponseBytes"] == len(whole.content) - 1
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert len(response.content) < 1000


# --- shape, checked before validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "document, reason",
    [
        ("{ me { " + "id " * 400 + "} }", "maxFieldRepeats"),
        ("{ " + "me { id } " * 500 + "}", "maxFieldRepeats"),
        ("{ " + 'stockPrices(symbol: "AAPL") { open } ' * 500 + "}", "maxFieldRepeats"),
        (
            "{ me { ...F0 } } "
            + " ".join(f"fragment F{i} on User {{ id ...F{i + 1} ...F{i + 1} }}" for i in range(8))
            + " fragment F8 on User { id }",
            "maxFieldRepeats",
        ),
        (
            "{ me { ...F0 } } "
            + " ".join(f"fragment F{i} on User {{ ...F{i + 1} }}" for i in range(40))
            + " fragment F40 on User { id }",
            "maxDepth",
        ),
        (
            "{ " + " ".join(f'a{i}: stockPrices(symbol: "A{i}") {{ open high low close }}' for i in range(29)) + " }",
            None,
        ),
    ],
)
async def test_documents_that_would_be_slow_to_validate_are_refused_at_once(
    api, user, limits, document, reason, monkeypatch
):
    if reason is None:
        limits(max_fields=120)  # 29 aliases of 5 fields: 145 selections
    document = f"# {uuid.uuid4()}\n{document}"  # never seen before: nothing is cached
    validated = _record_threads(monkeypatch, "validate")
    started = time.perf_counter()
    body = await api.execute(document, token=user.token)
    assert time.perf_counter() - started < 2.0  # about 0.04 s: a generous bound for a busy machine
    assert validated == [], "the document reached validation"
    error = _refusal(body)
    if reason is not None:
        assert reason in error["extensions"], error
    else:
        assert error["extensions"]["maxFields"] == 120


async def test_four_repetition_attacks_at_once_leave_healthz_answering(api, user):
    def attack() -> str:
        return f"# {uuid.uuid4()}\n{{ " + "me { id } " * 500 + "}"

    async def healthz() -> float:
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        assert (await api.http.get("/healthz")).status_code == 200
        return time.perf_counter() - started

    results = await asyncio.gather(*(api.execute(attack(), token=user.token) for _ in range(4)), healthz())
    assert all(_refusal(body) for body in results[:4])
    # A few milliseconds when quiet (it waited 3.6 s before the documents were refused unvalidated).
    assert results[4] < 2.0, f"/healthz took {results[4]:.3f} s"


def _heavy_but_allowed(operations: int) -> str:
    """Many operations of repeated, mergeable fields: valid, within the limits set for it, and slow to parse
    and validate (about 0.5 s here)."""
    field = 'stockPrices(symbol: "AAPL", from: "2001-01-01", to: "2001-01-05", interval: DAY) { open close }'
    body = " ".join(f"query Q{i} {{ {' '.join([field] * 9)} }}" for i in range(operations))
    return f"# {uuid.uuid4()}\n{body}"


async def test_parsing_and_validating_a_large_allowed_document_does_not_hold_up_the_event_loop(
    api, limits, monkeypatch
):
    limits(max_tokens=20_000, max_fields=2_000, max_query_bytes=100_000)
    document = _heavy_but_allowed(operations=70)
    parsed, validated = _record_threads(monkeypatch, "parse"), _record_threads(monkeypatch, "validate")
    response = await api.http.post("/graphql", json={"query": document, "operationName": "Q0"})
    assert response.status_code == 200 and not response.json().get("errors"), response.text[:500]
    # Both ran, each once, on the document threads: the event loop's thread served other requests meanwhile.
    assert len(parsed) == len(validated) == 1
    assert all(name.startswith("graphql-documents") for name in parsed + validated), (parsed, validated)


def _record_threads(monkeypatch, name: str) -> list[str]:
    """Wraps graphql-core's parse or validate as the document cache calls it; lists the threads it ran on."""
    threads: list[str] = []
    original = getattr(document_cache, name)

    def recorded(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(document_cache, name, recorded)
    return threads


# --- suggestions ----------------------------------------------------------------------------------------------


async def test_did_you_mean_hints_are_given_in_development_and_withheld_in_production(api, user, settings, limits):
    misspelt = ["{ mee { id } }", "{ me { idd } }", '{ stockPrices(symbol: "AAPL", symbl: "AAPL") { open } }']
    enum_variable = ('query($i: PriceInterval) { stockPrices(symbol: "AAPL", interval: $i) { open } }', {"i": "DAYY"})
    for document in misspelt:
        assert "Did you mean" in (await api.error(document, token=user.token))["message"]
    assert "Did you mean" in (await api.error(*enum_variable, token=user.token))["message"]
    production = load_security_config(dataclasses.replace(settings, env="production"))
    assert production.suggestions is False
    limits(introspection=False, suggestions=False)
    for document in misspelt:
        error = await api.error(document, token=user.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and "Did you mean" not in error["message"]
    error = await api.error(*enum_variable, token=user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "Did you mean" not in error["message"]


def test_max_bars_bounds_the_estimate_of_any_price_range():
    from datetime import date

    from graphql_api.security.query_cost import _bars

    assert _bars({"from": date(2000, 1, 1), "to": date(2000, 1, 7)}) == 5  # a week of weekdays
    assert _bars({"from": date(1900, 1, 1), "to": date(2100, 1, 1)}) == MAX_BARS
    assert _bars({"from": None, "to": None}) == MAX_BARS
