"""Starts `aibt` as users do, in its own process, and waits for it to serve."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.server import free_port

AIBT = str(Path(sys.executable).with_name("aibt"))


def clean_env(**overrides: str) -> dict[str, str]:
    """The parent's environment without any AIBT or database settings, plus the overrides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIBT_") and k not in ("DATABASE_URL", "REDIS_URL", "HOST", "PORT")
    }
    env.update(overrides)
    return env


def run_aibt(*args: str, env: dict[str, str], cwd: Path, input_text: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [AIBT, *args], env=env, cwd=cwd, input=input_text, capture_output=True, text=True, timeout=120
    )


@contextmanager
def aibt_server(env: dict[str, str], cwd: Path) -> Iterator[str]:
    port = free_port()
    # Tool servers stay off unless a test asks for them (AIBT_START_TOOLS=1: in memory, no ports).
    env = {"AIBT_START_TOOLS": "0", **env, "PORT": str(port)}
    log = (cwd / f"serve-{port}.log").open("w")
    process = subprocess.Popen([AIBT, "serve"], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, url, cwd / f"serve-{port}.log")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def wait_until_healthy(
    process: subprocess.Popen, url: str, log_path: Path, timeout: float = 120, what: str = "aibt serve"
) -> None:
    """Returns once url/healthz answers 200; fails with the process's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not become healthy:\n{log_path.read_text()}")
