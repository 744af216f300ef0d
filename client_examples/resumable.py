"""Following a subscription that takes afterSeq (runEvents, arenaEvents) over graphql-transport-ws, resuming
after the last seq seen whenever the connection drops, with exponential backoff.

Subclasses say which operation to send (OPERATION, FIELD, `variables`) and what to do with each new event
(`handle`); events already seen are skipped, and a gap in the seqs is reported.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import websockets
from aibt_client import GraphQLError, operation
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

# graphql-transport-ws closes that reconnecting cannot fix: bad request, unauthorized, forbidden,
# duplicate subscription id, too many connection_init messages.
FATAL_CLOSE_CODES = {4400, 4401, 4403, 4409, 4429}


class ConnectionDropped(Exception):
    """Raised when the socket goes away before the stream completed; the follower reconnects."""


def close_code(error: ConnectionClosed) -> int | None:
    return error.rcvd.code if error.rcvd is not None else None


class ResumableSubscription:
    OPERATION = ""  # the document in operations/<OPERATION>.graphql
    FIELD = ""  # the subscription's field in each event's data

    def __init__(
        self,
        ws_url: str,
        token: str,
        *,
        drop_after: int | None = None,
        max_retries: int = 8,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
    ):
        self.ws_url, self.token, self.drop_after = ws_url, token, drop_after
        self.max_retries, self.backoff, self.max_backoff = max_retries, backoff, max_backoff
        self.last_seq = 0
        self.failures = 0  # reconnects in a row; a connection that is acknowledged resets it

    def variables(self) -> dict[str, Any]:
        """The operation's variables besides afterSeq."""
        raise NotImplementedError

    def handle(self, event: dict[str, Any]) -> None:
        """Called once per new event, in seq order."""
        raise NotImplementedError

    def say(self, text: str) -> None:
        """Where connection news goes (stderr; a subclass with a progress bar writes around it)."""
        print(text, file=sys.stderr, flush=True)

    async def follow(self) -> None:
        """Returns once the stream completes; raises GraphQLError, or ConnectionDropped after max_retries."""
        while True:
            try:
                await self._session()
                return
            except (ConnectionDropped, ConnectionClosed, InvalidHandshake, OSError) as error:
                if isinstance(error, ConnectionClosed) and close_code(error) in FATAL_CLOSE_CODES:
                    raise ConnectionDropped(
                        f"the server closed the connection: {close_code(error)} "
                        f"{error.rcvd.reason if error.rcvd else ''}".rstrip()
                    ) from error
                if isinstance(error, InvalidHandshake) and not (
                    isinstance(error, InvalidStatus) and error.response.status_code >= 500
                ):
                    raise ConnectionDropped(f"the server refused the websocket: {error}") from error
                self.failures += 1
                if self.failures > self.max_retries:
                    raise ConnectionDropped(f"gave up after {self.max_retries} reconnects: {error}") from error
                delay = min(self.backoff * 2 ** (self.failures - 1), self.max_backoff)
                self.say(
                    f"connection lost ({error or type(error).__name__}); reconnecting in {delay:.1f}s, "
                    f"resuming after seq {self.last_seq}"
                )
                await asyncio.sleep(delay)

    async def _session(self) -> None:
        """One connection: init, subscribe after last_seq, handle events until complete."""
        async with websockets.connect(self.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}))
            while (message := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "connection_ack":
                if message["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
            self.failures = 0
            variables = {**self.variables(), "afterSeq": self.last_seq}
            payload = {"query": operation(self.OPERATION), "variables": variables}
            await ws.send(json.dumps({"id": self.OPERATION, "type": "subscribe", "payload": payload}))
            received = 0
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif message["type"] == "next":
                    payload = message["payload"]
                    if payload.get("errors"):
                        raise GraphQLError(payload["errors"])
                    self._accept(payload["data"][self.FIELD])
                    received += 1
                    if self.drop_after is not None and received >= self.drop_after:
                        self.drop_after = None  # once only
                        await ws.close()
                        raise ConnectionDropped(f"closed on purpose after {received} events (--drop-after)")
                elif message["type"] == "error":
                    raise GraphQLError(message["payload"])
                elif message["type"] == "complete":
                    return
            raise ConnectionDropped("the server closed the connection before the stream completed")

    def _accept(self, event: dict[str, Any]) -> None:
        seq = event["seq"]
        if seq <= self.last_seq:
            return  # already handled (the server promises no duplicates; a client still guards)
        if seq != self.last_seq + 1:
            self.say(f"warning: events {self.last_seq + 1}..{seq - 1} are missing")
        self.last_seq = seq
        self.handle(event)
