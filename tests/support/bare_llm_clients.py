"""The reference for the worker's CPU per LLM call: the bare clients making the same calls, in a process of
their own (tests/support/worker_bench.py starts it).

Reads {"base_url", "requests", "passes"} as JSON on stdin: chat-completion request bodies a worker sent.
Replays them, streamed or not as the worker sent them, with the openai client and with a ChatOpenAI whose
tools are bound once, and prints {"calls", "openai_ms", "chat_openai_ms"}: this process's CPU per call.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from langchain_core.messages import convert_to_messages
from langchain_openai import ChatOpenAI
from openai import AsyncOpenAI

API_KEY = "test-key"
CREATE_ARGUMENTS = ("model", "messages", "tools", "stream", "stream_options")


async def _openai_call(client: AsyncOpenAI, body: dict[str, Any]) -> None:
    known = {key: body[key] for key in CREATE_ARGUMENTS if key in body}
    extra = {key: value for key, value in body.items() if key not in CREATE_ARGUMENTS}
    answer = await client.chat.completions.create(**known, extra_body=extra or None)
    if known.get("stream"):
        async for _ in answer:
            pass


async def _chat_openai_call(model: Any, body: dict[str, Any]) -> None:
    await model.ainvoke(convert_to_messages(body["messages"]))


async def _cpu_per_call(call: Any, requests: list[dict[str, Any]], passes: int) -> float:
    await call(requests[0])  # warm-up: connection and first-use imports
    started = time.process_time()
    for _ in range(passes):
        for body in requests:
            await call(body)
    return (time.process_time() - started) * 1000 / (passes * len(requests))


async def main(base_url: str, requests: list[dict[str, Any]], passes: int) -> dict[str, Any]:
    client = AsyncOpenAI(base_url=base_url, api_key=API_KEY)
    openai_ms = await _cpu_per_call(lambda body: _openai_call(client, body), requests, passes)
    chat = ChatOpenAI(
        model=requests[0]["model"],
        base_url=base_url,
        api_key=API_KEY,
        streaming=bool(requests[0].get("stream")),
        use_responses_api=False,
        stream_usage=True,
    )
    bound = chat.bind_tools(requests[0].get("tools") or [])
    chat_ms = await _cpu_per_call(lambda body: _chat_openai_call(bound, body), requests, passes)
    return {"calls": passes * len(requests), "openai_ms": openai_ms, "chat_openai_ms": chat_ms}


if __name__ == "__main__":
    given = json.load(sys.stdin)
    print(json.dumps(asyncio.run(main(given["base_url"], given["requests"], given["passes"]))))
