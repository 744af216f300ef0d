"""A Redis server of the test's own on a free port, which the test may stop and start again.

The machine's Redis on 6379 is shared by other test runs, so outage tests never touch it. Started as
production runs it (no persistence), so a restart comes back empty, as a real one would.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.server import free_port

REDIS_SERVER = shutil.which("redis-server")


class PrivateRedis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None, "already running"
        log = (self.workdir / f"redis-{self.port}.log").open("a")
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def stop(self, *, kill: bool = True) -> None:
        """Kills it (as a crash would) or terminates it; either way its data is gone."""
        assert self.process is not None, "not running"
        self.process.kill() if kill else self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None


@contextmanager
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: the Redis outage tests start and kill a Redis of their own.")
    server = PrivateRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.stop()
