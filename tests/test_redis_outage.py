"""Redis stopped and started again under a running system, and requests that need Redis while it is away.

The topology test runs the API, a worker and the tool servers as their own processes against a Redis of
the test's own (tests/support/private_redis.py), kills it in the middle of a daily run and of a streamed
chat reply, and checks what clients see while it is down and after it is back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from redis.exceptions import ConnectionError as RedisConnectionError

from db_models.chat import ChatMessage
from db_models.price_seed import seed_shipped_prices
from db_models.runs import Run, RunStatus
from tasks.dispatch import InProcessDispatcher
from tests.conftest import PASSWORD, SIGNUP, unique_email
from tests.support import price_fixtures as px
from tests.support.chat_helpers import CHAT_EVENTS
from tests.support.databases import backend
from tests.support.fake_openai import FakeOpenAI, Turn, running_fake_openai
from tests.support.graphql_client import GraphQLClient, ws_connect
from tests.support.price_state import restored_market_data
from tests.support.private_redis import private_redis
from tests.support.run_helpers import RUN_EVENTS, START_DAILY
from tests.support.topology import production_topology

CREATE_MODEL = "mutation($i: CreateModelInput!) { createModel(input: $i) { id } }"
CREATE_CONVERSATION = "mutation($model: ID) { createConversation(modelId: $model) { id } }"
SEND = "mutation($id: ID!, $c: String!) { sendMessage(conversationId: $id, content: $c) { id } }"
RUN_STATUS = "query($id: ID!) { run(id: $id) { status error } }"
# Long enough that the run is still RUNNING when Redis goes away: its turns are read whole, quicker than the
# chat's title and the reply's first tokens are streamed.
START, END = dt.date(2010, 3, 1), dt.date(2010, 8, 31)
REPLY_WORDS = 400
CHAT_END = frozenset({"COMPLETE", "ERROR"})


class SlowStreamingOpenAI(FakeOpenAI):
    """Streams each token after a pause, so a reply is still streaming when Redis goes away."""

    token_delay = 0.04

    async def _chunks(self, *args, **kwargs):
        async for chunk in super()._chunks(*args, **kwargs):
            await asyncio.sleep(self.token_delay)
            yield chunk


def long_answers(messages, tools) -> Turn:
    """Trades like trade_one_share for runs; answers chat with a long text."""
    from tests.support.fake_openai import trade_one_share

    if tools and any(t["function"]["name"] == "buy" for t in tools):
        return trade_one_share(messages, tools)
    return Turn(" ".join(f"w{n}" for n in range(REPLY_WORDS)))


class Follower:
    """A websocket subscriber that records every event it gets, and how its stream ended."""

    def __init__(
        self, ws_url: str, token: str, query: str, field: str, variables: dict, last_kinds: frozenset[str] = frozenset()
    ) -> None:
        self.ws_url, self.token, self.query, self.field, self.variables = ws_url, token, query, field, variables
        self.last_kinds = last_kinds  # a stream that does not complete by itself ends here for the test
        self.events: list[dict] = []
        self.error: dict | None = None
        self.done = asyncio.Event()
        self.task: asyncio.Task | None = None

    def start(self, after_seq: int | None = 0) -> Follower:
        self.done.clear()
        self.task = asyncio.create_task(self._run(after_seq))
        return self

    async def _run(self, after_seq: int | None) -> None:
        socket = await ws_connect(self.ws_url, {"authorization": f"Bearer {self.token}"})
        try:
            assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"
            await socket.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": self.query, "variables": {**self.variables, "after": after_seq}},
                    }
                )
            )
            while True:
                message = json.loads(await socket.recv())
                if message["type"] == "next":
                    if message["payload"].get("errors"):
                        self.error = message["payload"]["errors"][0]
                        return
                    self.events.append(message["payload"]["data"][self.field])
                    if self.events[-1]["kind"] in self.last_kinds:
                        return
                elif message["type"] == "error":
                    self.error = message["payload"][0]
                    return
                elif message["type"] == "complete":
                    return
        finally:
            await socket.close()
            self.done.set()

    async def stop(self) -> None:
        """Drops the connection (as a client that goes away would)."""
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    @property
    def last_seq(self) -> int:
        return self.events[-1]["seq"] if self.events else 0


async def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def assert_once_in_order(events: list[dict]) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), seqs


@pytest_asyncio.fixture
async def slow_llm() -> AsyncIterator[FakeOpenAI]:
    async with running_fake_openai(long_answers, delay_seconds=0.1) as fake:
        fake.__class__ = SlowStreamingOpenAI
        yield fake


@pytest_asyncio.fixture
async def shipped_prices(server_url):
    async with restored_market_data():
        await seed_shipped_prices()
        yield


@pytest.mark.skipif(
    backend() != "postgres",
    reason="The multi-process topology (API, worker and tool servers writing at once) runs in the "
    "suite's PostgreSQL pass.",
)
async def test_redis_killed_mid_run_and_mid_reply_then_everything_resumes(settings, tmp_path, shipped_prices, slow_llm):
    with private_redis(tmp_path) as redis_server:
        async with (
            production_topology(
                settings, tmp_path, redis_url=redis_server.url, OPENAI_API_BASE=slow_llm.base_url
            ) as topology,
            httpx.AsyncClient(base_url=topology.api_url, timeout=60) as http,
        ):
            api = GraphQLClient(http)
            token = (await api.data(SIGNUP, {"email": unique_email("outage"), "password": PASSWORD}))["signup"]["token"]

            async def model(name: str) -> str:
                return (
                    await api.data(
                        CREATE_MODEL,
                        {"i": {"name": name, "allowedTickers": ["AAPL"], "aiModel": "openai/gpt-5"}},
                        token=token,
                    )
                )["createModel"]["id"]

            trading, spare = await model("Remote trader"), await model("Spare")
            run = (
                await api.data(
                    START_DAILY,
                    {"model": trading, "input": {"startDate": START.isoformat(), "endDate": END.isoformat()}},
                    token=token,
                )
            )["startDailyRun"]
            conversation = (await api.data(CREATE_CONVERSATION, {"model": trading}, token=token))["createConversation"][
                "id"
            ]
            idle_conversation = (await api.data(CREATE_CONVERSATION, {"model": spare}, token=token))[
                "createConversation"
            ]["id"]
            await api.data(SEND, {"id": conversation, "c": "Tell me everything."}, token=token)

            # Two subscribers per stream: one stays connected through the outage, one drops during it
            # and resumes with afterSeq once Redis is back.
            run_stays = Follower(topology.ws_url, token, RUN_EVENTS, "runEvents", {"id": run["id"]}).start()
            run_resumes = Follower(topology.ws_url, token, RUN_EVENTS, "runEvents", {"id": run["id"]}).start()
            chat_stays = Follower(
                topology.ws_url, token, CHAT_EVENTS, "chatEvents", {"id": conversation}, CHAT_END
            ).start()
            chat_resumes = Follower(
                topology.ws_url, token, CHAT_EVENTS, "chatEvents", {"id": conversation}, CHAT_END
            ).start()
            await wait_until(
                lambda: (
                    any(e["kind"] == "TRADE" for e in run_stays.events)
                    and sum(e["kind"] == "TOKEN" for e in chat_stays.events) >= 5
                ),
                60,
                "the run's first trade and the reply's first tokens",
            )

            redis_server.stop(kill=True)
            down_at = asyncio.get_running_loop().time()
            seen_before = (len(run_stays.events), len(chat_stays.events))

            # While it is down: requests that need Redis answer UNAVAILABLE, and readiness says why.
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"] == {"database": "ok", "redis": "unreachable"}
            start_error = await api.error(
                START_DAILY,
                {"model": spare, "input": {"startDate": START.isoformat(), "endDate": END.isoformat()}},
                token=token,
            )
            assert start_error["extensions"]["code"] == "UNAVAILABLE", start_error
            send_error = await api.error(SEND, {"id": idle_conversation, "c": "hello?"}, token=token)
            assert send_error["extensions"]["code"] == "UNAVAILABLE", send_error
            refused = Follower(topology.ws_url, token, RUN_EVENTS, "runEvents", {"id": run["id"]}).start()
            await asyncio.wait_for(refused.done.wait(), 30)
            assert refused.error and refused.error["extensions"]["code"] == "UNAVAILABLE", refused.error
            # Reads that need only the database still work.
            assert (await api.data(RUN_STATUS, {"id": run["id"]}, token=token))["run"]["status"] == "RUNNING"
            await run_resumes.stop()
            await chat_resumes.stop()
            outage = asyncio.get_running_loop().time() - down_at
            await asyncio.sleep(max(0.0, 3 - outage))

            redis_server.start()
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            run_resumes.start(after_seq=run_resumes.last_seq)
            chat_resumes.start(after_seq=chat_resumes.last_seq)
            for follower in (run_stays, run_resumes, chat_stays, chat_resumes):
                await asyncio.wait_for(follower.done.wait(), 120)
                assert follower.error is None, follower.error
            result = (await api.data(RUN_STATUS, {"id": run["id"]}, token=token))["run"]

            # The refused start and send left nothing half-done: no run waiting forever, no unanswered message.
            assert not await Run.filter(model__name="Spare", status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists()
            assert not await ChatMessage.filter(content="hello?").exists()
            assert (await api.data(SEND, {"id": idle_conversation, "c": "hello again"}, token=token))["sendMessage"][
                "id"
            ]

            api_log = topology.log("api")

    assert result["status"] == "COMPLETED", result["error"]
    assert seen_before[0] < len(run_stays.events) and seen_before[1] < len(chat_stays.events)
    for follower in (run_stays, run_resumes):
        assert_once_in_order(follower.events)
        assert follower.events[0]["kind"] == "QUEUED" and follower.events[-1]["kind"] == "COMPLETED"
    assert run_resumes.events == run_stays.events
    for follower in (chat_stays, chat_resumes):
        assert_once_in_order(follower.events)
        assert follower.events[-1]["kind"] == "COMPLETE"
    assert chat_resumes.events == chat_stays.events
    reply = chat_stays.events[-1]["message"]["content"]
    assert "".join(e["token"] for e in chat_stays.events if e["kind"] == "TOKEN") == reply
    assert reply.split() == [f"w{n}" for n in range(REPLY_WORDS)]
    assert "Traceback" not in api_log, api_log[-3000:]
    assert "pub/sub connection restored" in api_log


@pytest_asyncio.fixture(loop_scope="session")
async def test_bars(server_url):
    async with px.test_bars():
        yield


async def test_a_start_or_send_that_cannot_reach_the_queue_is_unavailable_and_leaves_nothing_half_done(
    api, user, test_bars, monkeypatch
):
    async def queue_down(self, *args):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(InProcessDispatcher, "enqueue_run", queue_down)
    monkeypatch.setattr(InProcessDispatcher, "enqueue_reply", queue_down)
    model = (
        await api.data(
            CREATE_MODEL,
            {"i": {"name": "Queue down", "allowedTickers": [px.SYMBOL], "aiModel": "local/buy-and-hold"}},
            token=user.token,
        )
    )["createModel"]["id"]
    days = px.trading_days()
    error = await api.error(
        START_DAILY,
        {"model": model, "input": {"startDate": days[0].isoformat(), "endDate": days[-1].isoformat()}},
        token=user.token,
    )
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert "6379" not in error["message"]
    # The run exists (it was committed before the hand-over) but ended at once, with the reason.
    run = await Run.get(model__name="Queue down", model__owner__email=user.email)
    assert run.status == RunStatus.FAILED and "job queue is unavailable" in run.error and run.ended_at

    conversation = (await api.data(CREATE_CONVERSATION, {"model": None}, token=user.token))["createConversation"]["id"]
    error = await api.error(SEND, {"id": conversation, "c": "are you there?"}, token=user.token)
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert not await ChatMessage.filter(content="are you there?").exists()

    monkeypatch.undo()  # the queue is back: both work again, with no CONFLICT left over
    again = (
        await api.data(
            START_DAILY,
            {"model": model, "input": {"startDate": days[0].isoformat(), "endDate": days[-1].isoformat()}},
            token=user.token,
        )
    )["startDailyRun"]
    assert again["status"] == "QUEUED" and again["runNumber"] == 2
    assert (await api.data(SEND, {"id": conversation, "c": "are you there?"}, token=user.token))["sendMessage"]["id"]
