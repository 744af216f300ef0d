"""CI-sized runs of the fan-out and workers benchmarks (tests/benchmarks/test_ws_fanout.py,
test_api_workers.py) through their own measuring code: no timing asserted, but every subscriber must get
every event, in order, and every request an answer."""

from __future__ import annotations

import pytest

from tests.support.fanout import fanout_api, measure_fanout, measure_serving

pytestmark = [pytest.mark.timeout(300), pytest.mark.database_independent]  # the API processes meet through Redis
EVENTS = 5


async def test_fanout_smoke_every_subscriber_gets_every_event_in_order(settings, server_url, tmp_path):
    async with fanout_api(settings, tmp_path) as api:
        fanout = await measure_fanout(api, subscribers=20, client_processes=2, events=EVENTS, publish_every=0.05)
    assert fanout.seqs == [list(range(1, EVENTS + 1))] * 20
    assert len(fanout.ws) == len(fanout.raw) == 20 * EVENTS
    assert "per subscription" in fanout.summary()


async def test_workers_smoke_two_processes_answer_and_fan_out(settings, server_url, tmp_path):
    serving = await measure_serving(
        settings,
        tmp_path,
        2,
        request_clients=1,
        concurrency=2,
        request_seconds=1,
        subscribers=10,
        client_processes=2,
        events=EVENTS,
        publish_every=0.05,
    )
    assert serving.requests_per_second > 0
    assert serving.fanout.seqs == [list(range(1, EVENTS + 1))] * 10
