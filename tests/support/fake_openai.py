"""A small OpenAI-compatible chat completions server for tests, on a free 127.0.0.1 port.

It answers POST /v1/chat/completions as OpenAI does: SSE chunks when `stream` is set (content deltas
token by token, tool-call deltas with index, id and name then their arguments in pieces, the
finish_reason, a usage chunk when stream_options.include_usage, then [DONE]), or one JSON completion.
What it answers is scripted by a policy: a function of the request's messages and tools that returns a
Turn (text, tool calls, or both). Every request body is recorded for the test to inspect.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.server import running_server

TOKEN = re.compile(r"\s*\S+")


@dataclass
class Turn:
    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


Policy = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Turn]


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def words(text: str) -> int:
    return len(text.split())


def tool_results(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(tool name, result text) of every tool message, in order, names found from the calls."""
    names = {call["id"]: call["function"]["name"] for m in messages for call in m.get("tool_calls") or []}
    return [
        (names.get(m.get("tool_call_id"), "?"), content_text(m.get("content")))
        for m in messages
        if m.get("role") == "tool"
    ]


def trade_one_share(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Turn:
    """Calls portfolio, then buys 1 share of the first allowed ticker, then answers."""
    results = tool_results(messages)
    if not results:
        return Turn("Let me look at the portfolio.", [("portfolio", {})])
    name, text = results[-1]
    if name == "portfolio":
        ticker = json.loads(text)["allowed_tickers"][0]
        return Turn("", [("buy", {"symbol": ticker, "amount": 1})])
    return Turn(f"Done: {text[:60]}")


class FakeOpenAI:
    def __init__(
        self,
        policy: Policy = trade_one_share,
        *,
        fail_status: int | None = None,
        delay_seconds: float = 0.0,
        token_delay_seconds: float = 0.0,
    ) -> None:
        self.policy = policy
        self.fail_status = fail_status
        self.delay_seconds = delay_seconds  # before answering
        self.token_delay_seconds = token_delay_seconds  # between streamed text tokens, like a real model
        self.requests: list[dict[str, Any]] = []
        self.usage_reports: list[dict[str, int]] = []
        self.url = ""
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.completions, methods=["POST"])])

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.fail_status is not None:
            return JSONResponse(
                {
                    "error": {
                        "message": "The upstream model is overloaded.",
                        "type": "server_error",
                        "code": self.fail_status,
                    }
                },
                status_code=self.fail_status,
            )
        messages, tools = body.get("messages", []), body.get("tools") or []
        turn = self.policy(messages, tools)
        calls = [(f"call_{uuid.uuid4().hex[:12]}", name, json.dumps(args)) for name, args in turn.tool_calls]
        prompt = sum(words(content_text(m.get("content"))) for m in messages)
        completion = words(turn.text) + sum(1 + words(arguments) for _, _, arguments in calls)
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        self.usage_reports.append(usage)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:16]}"
        finish = "tool_calls" if calls else "stop"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                self._chunks(
                    completion_id, body.get("model", ""), turn.text, calls, finish, usage if include_usage else None
                ),
                media_type="text/event-stream",
            )
        message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
        if calls:
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
                for cid, name, args in calls
            ]
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", ""),
                "usage": usage,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            }
        )

    async def _chunks(
        self,
        completion_id: str,
        model: str,
        text: str,
        calls: list[tuple[str, str, str]],
        finish: str,
        usage: dict[str, int] | None,
    ) -> AsyncIterator[str]:
        def event(choices: list[dict[str, Any]], **extra: Any) -> str:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": choices,
                **extra,
            }
            return f"data: {json.dumps(chunk)}\n\n"

        def delta(value: dict[str, Any], finish_reason: str | None = None) -> str:
            return event([{"index": 0, "delta": value, "finish_reason": finish_reason}])

        yield delta({"role": "assistant", "content": ""})
        for token in TOKEN.findall(text):
            if self.token_delay_seconds:
                await asyncio.sleep(self.token_delay_seconds)
            yield delta({"content": token})
        for index, (call_id, name, arguments) in enumerate(calls):
            yield delta(
                {
                    "tool_calls": [
                        {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
                    ]
                }
            )
            for start in range(0, len(arguments), 8):
                yield delta({"tool_calls": [{"index": index, "function": {"arguments": arguments[start : start + 8]}}]})
        yield delta({}, finish)
        if usage is not None:
            yield event([], usage=usage)
        yield "data: [DONE]\n\n"


@asynccontextmanager
async def running_fake_openai(policy: Policy = trade_one_share, **options: Any) -> AsyncIterator[FakeOpenAI]:
    """Serves a FakeOpenAI on a free loopback port for the duration of the block."""
    fake = FakeOpenAI(policy, **options)
    async with running_server(fake.app) as url:
        fake.url = url
        yield fake
