"""Prometheus metrics on the API (and, in embedded mode, the worker's), and structured JSON logs."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import price_fixtures as px
from tests.support.graphql_client import ws_connect
from tests.support.processes import aibt_server, clean_env
from tests.support.run_helpers import follow_run, tool_servers_for_runs
from tests.support.server import free_port
from tests.test_runs import make_model, start


async def samples(api) -> dict[tuple[str, tuple], float]:
    text = (await api.http.get("/metrics")).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: dict, name: str, **labels: str) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_operations_errors_and_latency_are_counted_by_operation_name(api, user):
    before = await samples(api)
    await api.data("query ListModels { models { totalCount } }", token=user.token)
    await api.execute("query ListModels { models { totalCount } }")  # no token: UNAUTHENTICATED
    after = await samples(api)
    requests = ("aibt_graphql_requests_total", {"operation": "ListModels", "type": "query"})
    assert value(after, *requests[:1], **requests[1]) - value(before, *requests[:1], **requests[1]) == 2
    errors = {"operation": "ListModels", "code": "UNAUTHENTICATED"}
    assert (
        value(after, "aibt_graphql_errors_total", **errors) - value(before, "aibt_graphql_errors_total", **errors) == 1
    )
    latency = value(after, "aibt_graphql_request_seconds_count", operation="ListModels")
    assert latency - value(before, "aibt_graphql_request_seconds_count", operation="ListModels") == 2


async def test_open_websockets_and_active_subscriptions_are_gauged(api, ws_url, user):
    conversation = (await api.data("mutation { createConversation { id } }", token=user.token))["createConversation"][
        "id"
    ]
    before = await samples(api)
    socket = await ws_connect(ws_url, {"authorization": f"Bearer {user.token}"})
    await socket.recv()
    await socket.send(
        json.dumps(
            {
                "id": "s",
                "type": "subscribe",
                "payload": {
                    "query": "subscription($id: ID!) { chatEvents(conversationId: $id) { seq } }",
                    "variables": {"id": conversation},
                },
            }
        )
    )
    import asyncio

    await asyncio.sleep(0.3)
    during = await samples(api)
    await socket.close()
    await asyncio.sleep(0.3)
    after = await samples(api)
    assert value(during, "aibt_open_websockets") == value(before, "aibt_open_websockets") + 1
    assert value(during, "aibt_active_subscriptions") == value(before, "aibt_active_subscriptions") + 1
    assert value(after, "aibt_open_websockets") == value(before, "aibt_open_websockets")
    assert value(after, "aibt_active_subscriptions") == value(before, "aibt_active_subscriptions")


async def test_runs_report_worker_metrics(api, ws_url, user, server_url):
    async with px.test_bars(), tool_servers_for_runs():
        before = await samples(api)
        run = await start(api, user, await make_model(api, user), end=px.trading_days()[2])
        await follow_run(ws_url, user.token, run["id"])
        after = await samples(api)
    grew = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert grew("aibt_runs_started_total") == 1
    assert grew("aibt_runs_finished_total", status="COMPLETED") == 1
    assert grew("aibt_run_step_seconds_count") == 3
    assert grew("aibt_llm_call_seconds_count", model="local/buy-and-hold") >= 3
    assert grew("aibt_tool_call_seconds_count", tool="portfolio") == 3


@pytest.mark.database_independent  # an embedded server on its own SQLite file
def test_production_logs_are_json_lines_with_the_request_id(tmp_path):
    env = clean_env(AIBT_DATA_DIR=str(tmp_path / "d"), AIBT_LOG_FORMAT="json")
    with aibt_server(env, tmp_path) as url:
        httpx.post(f"{url}/graphql", json={"query": "{ aiModels { id } }"}, headers={"X-Request-ID": "trace-me-12345"})
    log = next(tmp_path.glob("serve-*.log")).read_text().splitlines()
    records = [json.loads(line) for line in log if line.startswith("{")]
    assert records and all({"time", "level", "name", "message", "request_id"} <= set(r) for r in records)
    assert any(r["request_id"] == "trace-me-12345" for r in records)


async def test_made_up_operation_names_beyond_the_cap_share_one_label(api, user, limits):
    from graphql_api.metrics import operation_names

    limits(metrics_max_operation_names=len(operation_names) + 2)
    before = await samples(api)
    names = [f"MadeUp{uuid.uuid4().hex[:12]}" for _ in range(20)]
    for name in names:
        await api.data(f"query {name} {{ me {{ id }} }}", token=user.token)
    after = await samples(api)
    labelled = {labels for metric, labels in after if metric == "aibt_graphql_requests_total"}
    assert sum((("operation", n), ("type", "query")) in labelled for n in names) == 2
    other = {"operation": "other", "type": "query"}
    grew = value(after, "aibt_graphql_requests_total", **other) - value(before, "aibt_graphql_requests_total", **other)
    assert grew == 18


@pytest.mark.database_independent  # an embedded server on its own SQLite file
def test_metrics_answer_only_with_the_operators_token_when_one_is_set(tmp_path):
    env = clean_env(AIBT_DATA_DIR=str(tmp_path / "d"), AIBT_METRICS_TOKEN="s3cret-metrics", AIBT_SEED_PRICES="0")
    with aibt_server(env, tmp_path) as url:
        assert httpx.get(f"{url}/metrics").status_code == 401
        assert httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        allowed = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
        assert allowed.status_code == 200 and "aibt_graphql_requests_total" in allowed.text


@pytest.mark.database_independent  # an embedded server on its own SQLite file
def test_metrics_can_move_to_a_port_of_their_own(tmp_path):
    port = free_port()
    env = clean_env(AIBT_DATA_DIR=str(tmp_path / "d"), AIBT_METRICS_PORT=str(port), AIBT_SEED_PRICES="0")
    with aibt_server(env, tmp_path) as url:
        httpx.post(f"{url}/graphql", json={"query": "query Probe { aiModels { id } }"})
        assert httpx.get(f"{url}/metrics").status_code == 404
        private = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert private.status_code == 200 and 'operation="Probe"' in private.text
