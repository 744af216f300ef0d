"""One client process of the fan-out benchmark: websocket subscribers to a run and raw redis-py subscribers.

Run as `python -m tests.support.fanout_client '<json job>'`. Prints READY once every subscriber listens,
then, when each has received `events` events (the run's) and `events` raw messages, one JSON line of
publish-to-receive latencies in seconds. The publisher puts its time.time() in each event's message
(runs) or payload (raw). Several such processes share the subscribers, so that no single client loop's
backlog is counted as the server's latency.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import redis.asyncio as aioredis

from tests.support.graphql_client import ws_connect

EVENTS = """subscription($id: ID!) { runEvents(runId: $id, afterSeq: null) { seq kind message } }"""


async def websocket_subscriber(job: dict, ready: asyncio.Queue, latencies: list[float]) -> None:
    socket = await ws_connect(job["ws_url"], {"authorization": f"Bearer {job['token']}"})
    try:
        assert json.loads(await asyncio.wait_for(socket.recv(), 60))["type"] == "connection_ack"
        await socket.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": EVENTS, "variables": {"id": job["run_id"]}}}
            )
        )
        await ready.put(1)
        received = 0
        while received < job["events"]:
            message = json.loads(await socket.recv())
            now = time.time()
            assert message["type"] == "next" and not message["payload"].get("errors"), message
            event = message["payload"]["data"]["runEvents"]
            if event["kind"] == "PROGRESS" and event["message"]:
                latencies.append(now - float(event["message"]))
                received += 1
    finally:
        await socket.close()


async def redis_subscriber(job: dict, ready: asyncio.Queue, latencies: list[float]) -> None:
    client = aioredis.from_url(job["redis_url"])
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
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
    ws_latencies: list[float] = []
    raw_latencies: list[float] = []
    tasks = []
    for _ in range(job["websockets"]):
        tasks.append(asyncio.create_task(websocket_subscriber(job, ready, ws_latencies)))
        await asyncio.sleep(0.002)
    tasks += [asyncio.create_task(redis_subscriber(job, ready, raw_latencies)) for _ in range(job["raw"])]
    for _ in range(len(tasks)):
        await asyncio.wait_for(ready.get(), 120)
    print("READY", flush=True)
    await asyncio.wait_for(asyncio.gather(*tasks), 600)
    return {"ws": ws_latencies, "raw": raw_latencies}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))), flush=True)
