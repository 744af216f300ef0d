"""1,000 websocket subscribers on one API process: publish-to-receive latency beside raw Redis pub/sub in the
same run, and the API's memory per idle subscription (the measurement: tests/support/fanout.py).

AIBT_BENCH_PROFILE=<file> records the API process with py-spy while the events are published.
"""

from __future__ import annotations

import os

import pytest

from tests.support.fanout import fanout_api, measure_fanout

pytestmark = pytest.mark.timeout(1200)

SUBSCRIBERS, CLIENT_PROCESSES, EVENTS = 1_000, 4, 40
PUBLISH_EVERY = 0.5  # seconds between pairs (a run event and a raw message): a busy run's pace


async def test_fanout_latency_beside_raw_redis_and_memory_per_idle_subscription(settings, server_url, tmp_path):
    async with fanout_api(settings, tmp_path) as api:
        fanout = await measure_fanout(
            api,
            subscribers=SUBSCRIBERS,
            client_processes=CLIENT_PROCESSES,
            events=EVENTS,
            publish_every=PUBLISH_EVERY,
            profile_to=os.environ.get("AIBT_BENCH_PROFILE"),
        )
    assert all(seqs == list(range(1, EVENTS + 1)) for seqs in fanout.seqs)
    assert len(fanout.ws) == len(fanout.raw) == fanout.subscribers * EVENTS
    print(
        f"\n{fanout.subscribers} subscribers, {EVENTS} events, {CLIENT_PROCESSES} client processes "
        f"(every {PUBLISH_EVERY * 1000:.0f} ms one run event and one raw message):"
    )
    print(fanout.summary())
