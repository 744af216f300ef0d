"""Clients that send slowly or leave early, over raw sockets against the real app under `aibt serve`'s
uvicorn options: a request's line, headers and body must arrive within AIBT_REQUEST_TIMEOUT_SECONDS, or the
connection is closed (a slowloris holds no connection for long), and a client that leaves mid-body is no
error in the log."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import uvicorn
import websockets

from graphql_api.cli import uvicorn_options
from tests.support.server import free_port

pytestmark = [pytest.mark.timeout(60), pytest.mark.database_independent]

DEADLINE = 1.0
BODY = b'{"query": "{ symbols }"}'


@pytest.fixture
def with_deadline(app, server_url, monkeypatch):
    """Starts a second server of the session's app (whose services server_url has started) with a one-second
    request deadline."""
    monkeypatch.setenv("AIBT_REQUEST_TIMEOUT_SECONDS", str(DEADLINE))
    return lambda: server_with_deadline(app)


@asynccontextmanager
async def server_with_deadline(app) -> AsyncIterator[int]:
    port = free_port()
    options = uvicorn_options(app.state.settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def _read_response(reader: asyncio.StreamReader) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = int(next(line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:"))[15:])
    return head + await asyncio.wait_for(reader.readexactly(length), 5)


async def _held_for(port: int, first: bytes, drip: bytes) -> tuple[float, bytes]:
    """Sends `first`, then one `drip` every 0.2 s; returns how long the server kept the connection and what
    it answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    answer = b""
    try:
        if first:
            writer.write(first)
        while time.monotonic() - started < 10:
            try:
                chunk = await asyncio.wait_for(reader.read(1000), 0.2)
            except TimeoutError:
                if drip:
                    writer.write(drip)
                    await writer.drain()
                continue
            if not chunk:
                break
            answer += chunk
    except ConnectionError:
        pass
    finally:
        writer.close()
    return time.monotonic() - started, answer


HEAD = b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize(
    ("first", "drip"),
    [
        (b"", b""),  # connects and sends nothing
        (HEAD, b"X-Slow: 1\r\n"),  # headers a line at a time, never finished
        (HEAD + b"Content-Length: 100000\r\n\r\n{", b" "),  # a body a byte at a time
    ],
    ids=["silent", "slow-headers", "slow-body"],
)
async def test_a_request_that_does_not_arrive_within_the_deadline_loses_its_connection(with_deadline, first, drip):
    async with with_deadline() as port:
        held, answer = await _held_for(port, first, drip)
        assert DEADLINE <= held < DEADLINE + 2, held
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer
        # The server goes on serving; a request sent in time, even in pieces, is answered.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY)
        for piece in (head[:20], head[20:], BODY[:5], BODY[5:]):
            writer.write(piece)
            await asyncio.sleep(0.2)
        answer = await _read_response(reader)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200") and b'"symbols"' in answer


async def test_a_kept_alive_connection_gets_a_new_deadline_for_each_request(with_deadline):
    async with with_deadline() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY
        for _ in range(3):  # each request alone is in time; together they take longer than one deadline
            writer.write(request)
            answer = await _read_response(reader)
            assert answer.startswith(b"HTTP/1.1 200") and b'"symbols"' in answer, answer
            await asyncio.sleep(DEADLINE * 0.6)
        writer.close()


async def test_a_websocket_outlives_the_deadline(with_deadline, user):
    async with with_deadline() as port:
        async with websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            await asyncio.sleep(DEADLINE + 0.5)
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {user.token}"}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
            await asyncio.sleep(DEADLINE)
            await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": "{ me { id } }"}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["payload"]["data"]["me"]["id"] == user.id


async def test_a_client_that_leaves_mid_body_is_no_error_in_the_log(api, server_url, caplog):
    host, port = server_url.removeprefix("http://").split(":")
    with caplog.at_level(logging.INFO, logger="aibt.errors"):
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(HEAD + b"Content-Length: 1000\r\n\r\n" + BODY[:10])
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()
        await asyncio.sleep(0.5)
        assert (await api.http.get("/healthz")).status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.records
    assert any("disconnected before sending its whole body" in r.getMessage() for r in caplog.records)
