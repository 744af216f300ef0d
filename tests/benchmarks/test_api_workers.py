"""`aibt serve --workers 2` beside one process on this machine: authenticated requests per second, and the
fan-out of run events to websocket subscribers (the measurement: tests/support/fanout.py), each printed
with the ratio 2 processes / 1 process. The clients run on the same cores as the API, so the ratio says
what a second process buys here, not on a bigger machine."""

from __future__ import annotations

import pytest

from tests.support.fanout import measure_serving, quantile

pytestmark = pytest.mark.timeout(1800)

SIZES = {
    "request_clients": 2,
    "concurrency": 16,
    "request_seconds": 15,
    "subscribers": 500,
    "client_processes": 2,
    "events": 20,
    "publish_every": 0.5,
}


async def test_two_api_processes_beside_one(settings, server_url, tmp_path):
    one = await measure_serving(settings, tmp_path, 1, **SIZES)
    two = await measure_serving(settings, tmp_path, 2, **SIZES)
    for serving in (one, two):
        assert all(seqs == list(range(1, SIZES["events"] + 1)) for seqs in serving.fanout.seqs)
    figures = {
        n: (s.requests_per_second, quantile(s.fanout.ws, 0.5) * 1000, quantile(s.fanout.ws, 0.99) * 1000)
        for n, s in ((1, one), (2, two))
    }
    print(f"\n{SIZES}")
    for n, (rps, p50, p99) in figures.items():
        print(f"  {n} API process(es): {rps:.0f} requests/s; fan-out p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    ratios = [figures[2][i] / figures[1][i] for i in range(3)]
    print(f"  ratio 2/1: requests/s {ratios[0]:.2f}x, fan-out p50 {ratios[1]:.2f}x, p99 {ratios[2]:.2f}x")
