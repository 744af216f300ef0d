"""The agent loop both graphs run: routing, the step bound, stopping, tool errors the model can read,
and messages read as plain text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.graph.state import CompiledStateGraph

from agents.agent_loop import (
    ChatModel,
    LoopState,
    after_agent,
    after_tools,
    build_agent_loop,
    last_ai_message,
    make_agent_node,
    make_tool_node,
    recursion_limit,
)
from agents.message_text import text_content
from agents.scripted_model import ScriptedChatModel, ToolCalls

Policy = Callable[[Sequence[BaseMessage], tuple[str, ...]], tuple[str, ToolCalls]]


class PolicyModel(ScriptedChatModel):
    """A chat model whose every turn is `policy(messages, names of the tools bound)`."""

    policy: Any

    def script(self, messages: list[BaseMessage]) -> tuple[str, ToolCalls]:
        return self.policy(messages, self.tool_names)


def tool_results(messages: Sequence[BaseMessage]) -> list[str]:
    return [text_content(m) for m in messages if isinstance(m, ToolMessage)]


def echo_while_it_can(messages: Sequence[BaseMessage], tool_names: tuple[str, ...]) -> tuple[str, ToolCalls]:
    """Calls echo whenever echo is bound; without it, answers with what the tools said."""
    turn = sum(isinstance(m, AIMessage) for m in messages) + 1
    if "echo" in tool_names:
        return f"Turn {turn}.", [("echo", {"text": f"echo {turn}"})]
    return "Heard: " + "; ".join(tool_results(messages)), []


def call_once(name: str, args: dict[str, Any]) -> Policy:
    """Calls one tool on the first turn, then answers with what it said."""

    def policy(messages: Sequence[BaseMessage], tool_names: tuple[str, ...]) -> tuple[str, ToolCalls]:
        results = tool_results(messages)
        return ("Heard: " + "; ".join(results), []) if results else ("", [(name, args)])

    return policy


async def echo(text: str) -> str:
    """Says the text back."""
    return text


async def divide(a: float, b: float) -> str:
    """Divides a by b."""
    return str(a / b)


async def unreachable() -> str:
    """A tool whose server cannot be reached."""
    raise httpx.ConnectError("connection refused")


async def blocks() -> list[dict[str, Any]]:
    """Answers in content blocks, as MCP tools do."""
    return [
        {"type": "text", "text": "first"},
        {"type": "text", "text": "second"},
        {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
    ]


TOOLS: list[BaseTool] = [StructuredTool.from_function(coroutine=f) for f in (echo, divide, unreachable, blocks)]


async def invoke(model: ChatModel, messages: list[AnyMessage], config: RunnableConfig) -> dict[str, Any]:
    return {"messages": [await model.ainvoke(messages, config)]}


def loop(policy: Policy, *, tools_on_last_turn: bool = True, should_stop=None, around=None) -> CompiledStateGraph:
    return build_agent_loop(
        LoopState,
        agent=make_agent_node(PolicyModel(policy=policy), TOOLS, invoke, tools_on_last_turn=tools_on_last_turn),
        tools=make_tool_node(TOOLS, around=around),
        should_stop=should_stop,
        name="test_loop",
    )


async def run(graph: CompiledStateGraph, max_steps: int) -> dict[str, Any]:
    state = {"messages": [SystemMessage("Be brief."), HumanMessage("Go.")], "max_steps": max_steps, "steps": 0}
    return await graph.ainvoke(state, {"recursion_limit": recursion_limit(max_steps)})


def kinds(messages: Sequence[BaseMessage]) -> list[str]:
    return [m.type for m in messages]


def state_of(*messages: BaseMessage, steps: int = 1, max_steps: int = 3) -> LoopState:
    return {"messages": list(messages), "steps": steps, "max_steps": max_steps}


CALL = {"name": "echo", "args": {"text": "hi"}, "id": "call_1"}


def test_after_the_models_turn_the_loop_runs_its_tool_calls_or_ends():
    assert after_agent(state_of(AIMessage("", tool_calls=[CALL]))) == "tools"
    assert after_agent(state_of(AIMessage("Done."))) == "__end__"
    assert after_agent(state_of(HumanMessage("Go."))) == "__end__"
    assert after_agent(state_of()) == "__end__"


def test_after_the_tools_the_loop_goes_back_to_the_model_while_it_has_turns_left():
    answered = ToolMessage("hi", tool_call_id="call_1")
    assert after_tools(state_of(answered, steps=2, max_steps=3)) == "agent"
    assert after_tools(state_of(answered, steps=3, max_steps=3)) == "__end__"


def test_the_last_ai_message_is_the_conversations_last_message_only_when_the_model_wrote_it():
    answer = AIMessage("Done.")
    assert last_ai_message([HumanMessage("Go."), answer]) is answer
    assert last_ai_message([answer, ToolMessage("hi", tool_call_id="call_1")]) is None
    assert last_ai_message([]) is None


def test_max_steps_below_one_is_refused():
    assert recursion_limit(1) == 12
    with pytest.raises(ValueError, match="max_steps must be at least 1"):
        recursion_limit(0)


async def test_a_model_that_answers_without_tool_calls_ends_the_loop_after_one_turn():
    state = await run(loop(lambda messages, names: ("Nothing to do.", [])), max_steps=5)
    assert kinds(state["messages"]) == ["system", "human", "ai"]
    assert state["steps"] == 1 and state["messages"][-1].content == "Nothing to do."


async def test_a_model_that_always_calls_tools_stops_after_max_steps_turns_with_its_last_calls_answered():
    state = await run(loop(echo_while_it_can), max_steps=3)
    assert kinds(state["messages"])[2:] == ["ai", "tool"] * 3
    assert state["steps"] == 3
    assert tool_results(state["messages"]) == ["echo 1", "echo 2", "echo 3"]


async def test_without_tools_on_its_last_turn_the_model_has_to_answer_with_what_it_has():
    state = await run(loop(echo_while_it_can, tools_on_last_turn=False), max_steps=3)
    assert kinds(state["messages"])[2:] == ["ai", "tool", "ai", "tool", "ai"]
    assert state["messages"][-1].content == "Heard: echo 1; echo 2" and not state["messages"][-1].tool_calls


async def test_should_stop_ends_the_loop_at_the_next_step_boundary():
    asked = []

    async def stop_after_the_first_tool_round() -> bool:
        asked.append(1)
        return len(asked) > 1  # before the first tools: go on; before the model's second turn: stop

    state = await run(loop(echo_while_it_can, should_stop=stop_after_the_first_tool_round), max_steps=5)
    assert kinds(state["messages"])[2:] == ["ai", "tool"] and len(asked) == 2


async def test_a_stop_before_the_tools_run_leaves_the_calls_unanswered():
    async def stop() -> bool:
        return True

    state = await run(loop(echo_while_it_can, should_stop=stop), max_steps=5)
    assert kinds(state["messages"])[2:] == ["ai"] and state["messages"][-1].tool_calls


async def test_a_tool_that_raises_answers_with_an_error_the_model_reads_on_its_next_turn():
    state = await run(loop(call_once("divide", {"a": 1, "b": 0})), max_steps=3)
    error = next(m for m in state["messages"] if isinstance(m, ToolMessage))
    assert error.status == "error"
    assert error.content == (
        "Error: float division by zero. Check the tool's arguments and try again, or carry on without it."
    )
    assert state["messages"][-1].content == f"Heard: {error.content}"


async def test_arguments_the_tool_does_not_take_come_back_as_an_error_message_too():
    state = await run(loop(call_once("divide", {"a": 1})), max_steps=3)
    error = next(m for m in state["messages"] if isinstance(m, ToolMessage))
    assert error.status == "error" and error.content.startswith("Error: ") and "b" in error.content
    assert "Check the tool's arguments" in error.content
    assert state["messages"][-1].content.startswith("Heard: Error: ")


async def test_a_lost_connection_to_a_tool_server_propagates_instead_of_becoming_a_tool_message():
    with pytest.raises(httpx.ConnectError, match="connection refused"):
        await run(loop(call_once("unreachable", {})), max_steps=3)


async def test_tool_results_in_content_blocks_reach_the_model_as_plain_text_one_block_a_line():
    seen = []

    async def around(request, execute):
        result = await execute(request)
        seen.append(result.content)
        return result

    state = await run(loop(call_once("blocks", {}), around=around), max_steps=3)
    assert tool_results(state["messages"]) == ["first\nsecond\n[image]"]
    assert seen == ["first\nsecond\n[image]"]  # a wrapper already sees the text
    assert isinstance(next(m for m in state["messages"] if isinstance(m, ToolMessage)).content, str)


def test_text_content_of_a_string_is_the_string():
    assert text_content(AIMessage("Bought 45 LKAH.")) == "Bought 45 LKAH."
    assert text_content(ToolMessage("", tool_call_id="call_1")) == ""


def test_text_content_joins_a_models_text_blocks_as_written_and_leaves_out_tool_calls_and_reasoning():
    message = AIMessage(
        [
            {"type": "reasoning", "reasoning": "The user wants the return."},
            {"type": "text", "text": "Run 1 returned "},
            {"type": "text", "text": "+4.12%", "annotations": []},
            " over the month.",
            {"type": "tool_use", "id": "toolu_1", "name": "positions", "input": {}},
            {"type": "tool_call", "id": "call_1", "name": "positions", "args": {}},
        ]
    )
    assert text_content(message) == "Run 1 returned +4.12% over the month."


def test_text_content_names_data_blocks_in_brackets():
    chart = {"type": "image", "url": "https://example.com/chart.png"}
    assert text_content(AIMessage([{"type": "text", "text": "The chart: "}, chart])) == "The chart: [image]"
    report = {"type": "file", "base64": "JVBERi0=", "mime_type": "application/pdf"}
    assert text_content(ToolMessage([{"type": "text", "text": "Attached."}, report], tool_call_id="c")) == (
        "Attached.\n[file]"
    )


def test_text_content_of_streamed_chunks_adds_up_to_the_text_of_the_whole_message():
    chunks = [
        AIMessageChunk([{"type": "text", "text": "Run 1 ", "index": 0}]),
        AIMessageChunk([{"type": "text", "text": "returned +4.12%.", "index": 0}]),
        AIMessageChunk([{"type": "tool_use", "id": "toolu_1", "name": "positions", "input": {}, "index": 1}]),
    ]
    whole = chunks[0] + chunks[1] + chunks[2]
    assert [text_content(c) for c in chunks] == ["Run 1 ", "returned +4.12%.", ""]
    assert "".join(text_content(c) for c in chunks) == text_content(whole) == "Run 1 returned +4.12%."
