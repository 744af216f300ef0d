"""Many websocket subscribers to one run plus a steady rate of GraphQL requests, against one API process.

The API runs as its own process (`aibt serve` in the production topology, with a worker and the tool
servers beside it): with the app in the test's event loop, the clients' own work (hundreds of sockets,
the request generator) would share the server's loop and distort what is measured. The clients here
share one loop of their own, and the run's remote model answers from the session's fake OpenAI server.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from db_models.settings import Settings
from tests.conftest import PASSWORD, SIGNUP, unique_email
from tests.support.fake_openai import FakeOpenAI
from tests.support.graphql_client import GraphQLClient, ws_connect
from tests.support.run_helpers import RUN_EVENTS, START_DAILY
from tests.support.topology import production_topology

CREATE_MODEL = "mutation($i: CreateModelInput!) { createModel(input: $i) { id } }"
REQUESTS = [
    ("query($id: ID!) { run(id: $id) { status progress { current total } } }", True),
    ("query { me { id email } }", False),
    ("query { models(first: 10) { totalCount edges { node { id name } } } }", False),
    ("query { symbols }", False),
]


@dataclass
class LoadResult:
    subscribers: int
    events_per_subscriber: list[int]
    subscriber_failures: list[str]
    requests_sent: int
    request_errors: list[str]
    request_latencies: list[float]  # in the order the requests fell due
    seconds: float
    run_status: str
    api_cpu_share: float = 0.0  # the API process's CPU time over the load's wall-clock time (1.0 = one core)
    kinds: list[str] = field(default_factory=list)

    @property
    def achieved_rps(self) -> float:
        """Requests offered per second over the load window (each answered, with or without error)."""
        return self.requests_sent / self.seconds

    def latency(self, quantile: float, latencies: list[float] | None = None) -> float:
        ordered = sorted(self.request_latencies if latencies is None else latencies)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] if ordered else 0.0

    def latency_by_window(self, windows: int = 6) -> str:
        """p50/p99 in ms for each slice of the load window, to tell a warm-up from a steady state."""
        size = max(1, len(self.request_latencies) // windows)
        slices = [self.request_latencies[i : i + size] for i in range(0, len(self.request_latencies), size)]
        return ", ".join(
            f"{self.latency(0.5, part) * 1000:.0f}/{self.latency(0.99, part) * 1000:.0f}" for part in slices[:windows]
        )

    def summary(self) -> str:
        return (
            f"{self.subscribers} subscribers, {min(self.events_per_subscriber, default=0)}-"
            f"{max(self.events_per_subscriber, default=0)} events each, {len(self.subscriber_failures)} failed; "
            f"{self.requests_sent} requests offered in {self.seconds:.1f}s ({self.achieved_rps:.1f}/s), all answered, "
            f"{len(self.request_errors)} errors, latency p50 {self.latency(0.5) * 1000:.1f} ms, "
            f"p99 {self.latency(0.99) * 1000:.1f} ms, "
            f"mean {statistics.fmean(self.request_latencies or [0]) * 1000:.1f} ms "
            f"(p50/p99 ms by sixth of the window: {self.latency_by_window()}); "
            f"API process CPU {self.api_cpu_share * 100:.0f}% of one core; run {self.run_status}"
        )


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _subscriber(ws_url: str, token: str, run_id: str, ready: asyncio.Event | None) -> list[dict]:
    socket = await ws_connect(ws_url, {"authorization": f"Bearer {token}"})
    events: list[dict] = []
    try:
        ack = json.loads(await asyncio.wait_for(socket.recv(), 30))
        assert ack["type"] == "connection_ack", ack
        await socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": RUN_EVENTS, "variables": {"id": run_id, "after": 0}},
                }
            )
        )
        while True:
            message = json.loads(await socket.recv())
            if message["type"] == "next":
                if message["payload"].get("errors"):
                    raise AssertionError(f"error on the stream: {message['payload']['errors'][0]}")
                events.append(message["payload"]["data"]["runEvents"])
            elif message["type"] == "error":
                raise AssertionError(f"subscription refused: {message['payload']}")
            elif message["type"] == "complete":
                return events
    finally:
        await socket.close()


async def run_load(
    settings: Settings,
    tmp_path: Path,
    llm: FakeOpenAI,
    *,
    subscribers: int,
    rps: float,
    seconds: float,
    tickers: list[str],
    start: str,
    end: str,
    llm_delay: float,
) -> LoadResult:
    llm.delay_seconds = llm_delay  # slow enough that the run outlasts the load; cut to 0 when the load ends
    async with (
        # Every subscriber is one account on one address here: the per-user and per-address caps are lifted.
        production_topology(
            settings,
            tmp_path,
            AIBT_WS_MAX_CONNECTIONS_PER_USER="100000",
            AIBT_WS_MAX_CONNECTIONS_PER_ADDRESS="100000",
        ) as topology,
        httpx.AsyncClient(
            base_url=topology.api_url,
            timeout=30,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        ) as http,
    ):
        api = GraphQLClient(http)
        token = (await api.data(SIGNUP, {"email": unique_email("load"), "password": PASSWORD}))["signup"]["token"]
        model = (
            await api.data(
                CREATE_MODEL, {"i": {"name": "Load", "allowedTickers": tickers, "aiModel": "openai/gpt-5"}}, token=token
            )
        )["createModel"]["id"]
        run_id = (
            await api.data(START_DAILY, {"model": model, "input": {"startDate": start, "endDate": end}}, token=token)
        )["startDailyRun"]["id"]

        # The clients run in a process of their own: not in this loop, which serves the fake OpenAI endpoint.
        job = json.dumps(
            {
                "ws_url": topology.ws_url,
                "api_url": topology.api_url,
                "token": token,
                "run_id": run_id,
                "subscribers": subscribers,
                "rps": rps,
                "seconds": seconds,
            }
        )
        api_pid = topology.processes["api"].pid
        cpu_before, wall_before = cpu_seconds(api_pid), time.perf_counter()
        clients = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.load", job, stdout=asyncio.subprocess.PIPE
        )
        await asyncio.sleep(seconds + 2)
        api_cpu = (cpu_seconds(api_pid) - cpu_before) / (time.perf_counter() - wall_before)
        llm.delay_seconds = 0.0  # the load is over: let the run finish
        out, _ = await asyncio.wait_for(clients.communicate(), 400)
        assert clients.returncode == 0, f"the load clients exited with {clients.returncode}"
        report = json.loads(out.decode().strip().splitlines()[-1])
        results = [AssertionError(r["error"]) if "error" in r else r["events"] for r in report["streams"]]
        sent, errors, latencies, elapsed = report["sent"], report["errors"], report["latencies"], report["elapsed"]
        status = (await api.data("query($id: ID!) { run(id: $id) { status error } }", {"id": run_id}, token=token))[
            "run"
        ]
        api_log = topology.log("api")

    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    streams = [r for r in results if not isinstance(r, BaseException)]
    for events in streams:
        seqs = [e["seq"] for e in events]
        if seqs != list(range(1, len(seqs) + 1)):
            failures.append(f"seqs not 1..n in order: {seqs[:20]}...")
        elif not events or events[-1]["kind"] not in ("COMPLETED", "FAILED", "CANCELLED"):
            failures.append("stream ended before the run's final event")
    if len({json.dumps(events, sort_keys=True) for events in streams}) > 1:
        failures.append("subscribers did not all get the same events")
    if "Traceback" in api_log:
        failures.append("the API logged a traceback: " + api_log[api_log.index("Traceback") :][:2000])
    return LoadResult(
        subscribers=subscribers,
        events_per_subscriber=[len(e) for e in streams],
        subscriber_failures=failures,
        requests_sent=sent,
        request_errors=errors,
        request_latencies=latencies,
        seconds=elapsed,
        run_status=f"{status['status']} {status['error'] or ''}".strip(),
        api_cpu_share=api_cpu,
        kinds=[e["kind"] for e in streams[0]] if streams else [],
    )


class RequestSender:
    """GraphQL requests over a fixed set of keep-alive connections, one request per connection at a time.

    One httpx client per connection: a single pooled client with hundreds of requests waiting spends its
    time matching requests to connections (quadratic in httpcore's pool), and the load generator, not the
    API, becomes what is measured. A request's latency counts from the moment it was due, so time spent
    waiting for a free connection (a slow API) is in the figures, not hidden."""

    def __init__(self, api_url: str, token: str, run_id: str, connections: int) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}
        self.run_id = run_id
        self.clients = [
            httpx.AsyncClient(base_url=api_url, timeout=60, limits=httpx.Limits(max_connections=1))
            for _ in range(connections)
        ]
        self.free: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in self.clients:
            self.free.put_nowait(client)
        self.latencies: dict[int, float] = {}
        self.errors: list[str] = []

    async def send(self, n: int, due: float) -> None:
        query, needs_run = REQUESTS[n % len(REQUESTS)]
        client = await self.free.get()
        try:
            response = await client.post(
                "/graphql",
                headers=self.headers,
                json={"query": query, "variables": {"id": self.run_id} if needs_run else {}},
            )
            body = response.json()
            if response.status_code != 200 or body.get("errors"):
                self.errors.append(f"{response.status_code}: {str(body)[:200]}")
        except Exception as exc:  # every failure counts as an error
            self.errors.append(repr(exc))
        finally:
            self.free.put_nowait(client)
        self.latencies[n] = time.perf_counter() - due

    async def close(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients))


async def drive_clients(
    ws_url: str, api_url: str, token: str, run_id: str, subscribers: int, rps: float, seconds: float
) -> dict:
    """The client side: subscribers that follow the run to its end, and requests at a steady rate."""
    followers = []
    for first in range(0, subscribers, 50):  # connect in waves, as clients arriving would
        followers += [
            asyncio.create_task(_subscriber(ws_url, token, run_id, None))
            for _ in range(first, min(subscribers, first + 50))
        ]
        await asyncio.sleep(0.05)

    sender = RequestSender(api_url, token, run_id, connections=64)
    in_flight: set[asyncio.Task] = set()
    began = time.perf_counter()
    sent = 0
    while (now := time.perf_counter()) - began < seconds:
        while sent < int((now - began) * rps) + 1:  # open loop: requests fall due whatever the answers do
            task = asyncio.create_task(sender.send(sent, began + sent / rps))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            sent += 1
        await asyncio.sleep(max(0.0, began + sent / rps - time.perf_counter()))
    elapsed = time.perf_counter() - began  # the window in which requests were offered at the rate
    await asyncio.gather(*in_flight)
    await sender.close()
    results = await asyncio.wait_for(asyncio.gather(*followers, return_exceptions=True), 400)
    streams = [{"error": repr(r)} if isinstance(r, BaseException) else {"events": r} for r in results]
    return {
        "streams": streams,
        "sent": sent,
        "errors": sender.errors,
        "latencies": [sender.latencies[n] for n in range(sent)],
        "elapsed": elapsed,
    }


if __name__ == "__main__":
    arguments = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(drive_clients(**arguments))))
