"""One client process of the fan-out benchmark: websocket subscribers to a run and raw redis-py subscribers.

Run as `python -m tests.support.fanout_client '<json job>'`. Prints READY once every subscriber listens,
then, when each has received `events` events (the run's) and `events` raw messages, one JSON line: for
each websocket subscriber the seqs it received in order, and the publish-to-receive latencies in seconds.
The publisher puts its time.time() in each event's message (runs) or payload (raw). Several such processes
share the subscribers, so that no single client loop's backlog is counted as the server's latency.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import redis.asyncio as aioredis

from tests.support.graphql_client import ws_connect

EVENTS = """subscription($id: ID!) { runEvents(runId: $id, afterSeq: null) { seq kind message } }"""
CONNECTING_AT_ONCE = 25  # a loaded machine still accepts every connection within the timeouts


async def websocket_subscriber(job: dict, opening: asyncio.Semaphore, ready: asyncio.Queue, report: dict) -> None:
    async with opening:
        socket = await ws_connect(job["ws_url"], {"authorization": f"Bearer {job['token']}"})
        assert json.loads(await asyncio.wait_for(socket.recv(), 120))["type"] == "connection_ack"
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": EVENTS, "variables": {"id": job["run_id"]}}}
        await socket.send(json.dumps(subscribe))
    seqs: list[int] = []
    report["seqs"].append(seqs)
    try:
        await ready.put(1)
        while len(seqs) < job["events"]:
            message = json.loads(await socket.recv())
            now = time.time()
            assert message["type"] == "next" and message["id"] == "1", message
            assert not message["payload"].get("errors"), message
            event = message["payload"]["data"]["runEvents"]
            seqs.append(event["seq"])
            if event["kind"] == "PROGRESS" and event["message"]:
                report["ws"].append(now - float(event["message"]))
    finally:
        await socket.close()


async def redis_subscriber(job: dict, opening: asyncio.Semaphore, ready: asyncio.Queue, latencies: list) -> None:
    client = aioredis.from_url(job["redis_url"])
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        async with opening:
            await pubsub.subscribe(job["raw_channel"])
        await ready.put(1)
        received = 0
        while received < job["events"]:
            message = await pubsub.get_message(timeout=30)
            if message is None:
                continue
            latencies.append(time.time() - float(message["data"]))
            received += 1
    finally:
        await pubsub.aclose()
        await client.aclose()


async def main(job: dict) -> dict:
    ready: asyncio.Queue = asyncio.Queue()
    opening = asyncio.Semaphore(CONNECTING_AT_ONCE)
    report: dict = {"ws": [], "raw": [], "seqs": []}
    tasks = [asyncio.create_task(websocket_subscriber(job, opening, ready, report)) for _ in range(job["websockets"])]
    tasks += [asyncio.create_task(redis_subscriber(job, opening, ready, report["raw"])) for _ in range(job["raw"])]
    for _ in range(len(tasks)):
        await asyncio.wait_for(ready.get(), 300)
    print("READY", flush=True)
    await asyncio.wait_for(asyncio.gather(*tasks), 600)
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))), flush=True)
