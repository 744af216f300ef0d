"""The production topology in separate processes: `aibt tools`, `aibt worker` and `aibt serve` with Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from db_models.settings import Settings
from tests.support.processes import AIBT, clean_env
from tests.support.server import free_port

REDIS_URL = os.environ.get("AIBT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TOOLS = ("math", "search", "price", "trade")


@dataclass
class Topology:
    api_url: str
    env: dict[str, str]
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return self.api_url.replace("http://", "ws://") + "/graphql"

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("a")
        process = subprocess.Popen([AIBT, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()

    def stop(self, name: str, *, kill: bool = False) -> None:
        process = self.processes.pop(name)
        process.kill() if kill else process.terminate()
        process.wait(timeout=30)


async def wait_for_http(url: str, process: subprocess.Popen, what: str, logs: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=1) as client:
        while asyncio.get_running_loop().time() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"{what} exited with {process.returncode}:\n{Path(logs).read_text()}")
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"{what} did not answer at {url}:\n{Path(logs).read_text()}")


@asynccontextmanager
async def production_topology(
    settings: Settings,
    tmp_path: Path,
    *,
    worker_threads: int = 8,
    worker_processes: int = 1,
    redis_url: str = REDIS_URL,
    **extra_env: str,
) -> AsyncIterator[Topology]:
    """Tool servers, one `aibt worker` (of `worker_processes` processes) and one API process sharing the test
    database and a private Redis prefix."""
    prefix = f"aibt-test-{uuid.uuid4().hex[:8]}:"
    ports = {name: free_port() for name in TOOLS}
    env = clean_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=redis_url,
        AIBT_REDIS_PREFIX=prefix,
        AIBT_DATA_DIR=str(settings.data_dir),
        AIBT_SEED_PRICES="0",
        AIBT_START_TOOLS="0",
        **{f"AIBT_{n.upper()}_PORT": str(p) for n, p in ports.items()},
        **{f"AIBT_{n.upper()}_URL": f"http://127.0.0.1:{p}/mcp" for n, p in ports.items()},
        **extra_env,
    )
    api_port = free_port()
    env["PORT"] = str(api_port)
    topology = Topology(api_url=f"http://127.0.0.1:{api_port}", env=env, logs=tmp_path)
    try:
        tools = topology.start("tools", "tools")
        for name, port in ports.items():
            await wait_for_http(f"http://127.0.0.1:{port}/mcp", tools, f"{name} tool server", tmp_path / "tools.log")
        topology.start("worker", "worker", "--threads", str(worker_threads), "--processes", str(worker_processes))
        api = topology.start("api", "serve")
        await wait_for_http(f"{topology.api_url}/healthz", api, "the API", tmp_path / "api.log")
        yield topology
    finally:
        for name in list(topology.processes):
            topology.stop(name)
        client = aioredis.from_url(redis_url)
        try:
            keys = [key async for key in client.scan_iter(f"{prefix}*")]
            if keys:
                await client.delete(*keys)
        except (aioredis.RedisError, OSError):
            pass  # a test's own Redis may already be gone
        finally:
            await client.aclose()
