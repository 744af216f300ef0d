"""The math tool server, called over HTTP through langchain-mcp-adapters as an agent calls it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from langchain_core.tools import BaseTool

from tests.support.tool_servers import call_text, mcp_client, running_tool_servers, session_tools


@pytest_asyncio.fixture(scope="module")
async def math_url() -> AsyncIterator[str]:
    async with running_tool_servers("math") as urls:
        yield urls["math"]


@pytest_asyncio.fixture(scope="module")
async def math_tools(math_url: str) -> dict[str, BaseTool]:
    """Tools that open a session per call: a session held by a fixture would close in another task."""
    return {tool.name: tool for tool in await mcp_client({"math": math_url}).get_tools()}


async def test_the_math_server_offers_arithmetic_and_an_expression_evaluator(math_tools):
    assert set(math_tools) == {"add", "subtract", "multiply", "divide", "percent_change", "calculate"}
    assert "Args:" in math_tools["calculate"].description


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("add", {"a": 0.1, "b": 0.2}, "0.3"),
        ("add", {"a": 2, "b": 3}, "5"),
        ("subtract", {"a": 10000, "b": 187.25 * 3}, "9438.25"),
        ("multiply", {"a": 12, "b": 187.25}, "2247"),
        ("divide", {"a": 10000, "b": 400}, "25"),
        ("percent_change", {"old": 100, "new": 102.5}, "2.5"),
        ("percent_change", {"old": 200, "new": 150}, "-25"),
    ],
)
async def test_arithmetic_answers_with_the_number_as_text(math_tools, tool, arguments, expected):
    assert await call_text(math_tools[tool], **arguments) == expected


async def test_division_by_zero_is_a_readable_refusal(math_tools):
    answer = await call_text(math_tools["divide"], a=1, b=0)
    assert answer.startswith("Refused:") and "division by zero" in answer
    assert (await call_text(math_tools["percent_change"], old=0, new=5)).startswith("Refused:")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("-(4 - 10) / 4", "1.5"),
        ("7 // 2 + 7 % 2", "4"),
        ("2 ** 10", "1024"),
        ("2 ** -1", "0.5"),
        ("(10000 - 3 * 187.25) / 412.5", "22.8806060606061"),
        ("round(sqrt(2) * 100, 2)", "141.42"),
        ("max(1, 5, 3) - min(4, 2)", "3"),
        ("abs(-3.5) + round(2.6)", "6.5"),
        ("log(exp(2))", "2"),
        ("log(1000, 10)", "3"),
        ("1e3 + 1", "1001"),
    ],
)
async def test_calculate_evaluates_arithmetic_expressions(math_tools, expression, expected):
    assert await call_text(math_tools["calculate"], expression=expression) == expected


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os').system('echo hacked')", "not an allowed function"),
        ("x + 1", "The name 'x' is not allowed"),
        ("(1).__class__", "Attribute access"),
        ("(lambda: 1)()", "not an allowed function"),
        ("lambda: 1", "lambda"),
        ("[1, 2][0]", "not allowed"),
        ("'a' * 3", "Only numbers"),
        ("True + 1", "Only numbers"),
        ("open('/etc/passwd')", "not an allowed function"),
        ("sqrt(x=4)", "positional"),
        ("1 if 1 else 2", "not allowed"),
        ("9**9**9", "too large"),
        ("10 ** 400", "too large"),
        ("2.0 ** 5000", "too large"),
        ("exp(1000)", "too large"),
        ("sqrt(-1)", "no real value"),
        ("(-8) ** 0.5", "not a real number"),
        ("1 / 0", "Division by zero"),
        ("0 ** -1", "Division by zero"),
        ("1 +", "not valid arithmetic"),
        ("1" + " + 1" * 100, "limit is 200"),
    ],
)
async def test_calculate_refuses_anything_but_bounded_arithmetic(math_tools, expression, reason):
    answer = await call_text(math_tools["calculate"], expression=expression)
    assert answer.startswith("Refused:"), answer
    assert reason in answer, answer


async def test_huge_powers_are_refused_at_once(math_tools):
    started = time.perf_counter()
    for expression in ("9**9**9", "(10**300)**(10**300)", "2**2**2**2**2**2"):
        assert "too large" in await call_text(math_tools["calculate"], expression=expression)
    assert time.perf_counter() - started < 2


async def test_math_accepts_calls_with_or_without_a_run_credential(math_url, math_tools):
    client = mcp_client({"math": math_url}, credential="not-even-a-token")
    async with session_tools(client, "math") as tools:
        assert await call_text(tools["multiply"], a=3, b=4) == "12"
        assert await call_text(tools["calculate"], expression="12 / 4") == "3"
    assert await call_text(math_tools["add"], a=1, b=1) == "2"
