"""A PostgreSQL server of the test's own, on a free port, that the test may stop and restart at will
(the machine's shared server stays untouched)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.server import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def available() -> str | None:
    """Why a private server cannot run here, or None when it can."""
    if not (BIN / "initdb").exists():
        return f"PostgreSQL server binaries are not at {BIN}"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to start PostgreSQL as the postgres user"
    return None


def _as_postgres(*command: str) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *command], check=True, capture_output=True, text=True, timeout=120)


@dataclass
class PrivatePostgres:
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "60", *args)

    def start(self) -> None:
        self._ctl(
            "-o",
            f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1",
            "-l",
            str(self.data_dir / "server.log"),
            "start",
        )

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    root = Path(tempfile.mkdtemp(prefix="aibt-pg-"))
    data_dir = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    _as_postgres(str(BIN / "initdb"), "-D", str(data_dir), "-A", "trust", "-U", "postgres", "--no-sync")
    server = PrivatePostgres(data_dir, free_port())
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
