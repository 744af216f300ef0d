"""One client process of the workers benchmark: `concurrency` keep-alive connections sending one query
after another for `seconds`. Run as `python -m tests.support.request_load '<json job>'`; prints one JSON
line: how many answers came back, how many of them were errors, and in how many seconds."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx

QUERY = "query { me { id email } }"


async def one_connection(job: dict, deadline: float, counts: dict) -> None:
    headers = {"Authorization": f"Bearer {job['token']}"}
    async with httpx.AsyncClient(base_url=job["api_url"], timeout=30, headers=headers) as http:
        while time.monotonic() < deadline:
            response = await http.post("/graphql", json={"query": QUERY})
            counts["answered"] += 1
            if response.status_code != 200 or response.json().get("errors"):
                counts["errors"] += 1


async def main(job: dict) -> dict:
    counts = {"answered": 0, "errors": 0}
    started = time.monotonic()
    deadline = started + job["seconds"]
    await asyncio.gather(*(one_connection(job, deadline, counts) for _ in range(job["concurrency"])))
    return {**counts, "seconds": time.monotonic() - started}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))), flush=True)
