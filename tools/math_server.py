"""The math tool server: exact arithmetic and a safe expression evaluator for the agent.

Math needs no run: every caller may use it, with or without a run credential.
"""

from __future__ import annotations

from mcp.server.fastmcp import FastMCP

from tools.expressions import ExpressionError, Number, evaluate
from tools.run_context import ToolRefusal, add_tools


def format_number(value: Number) -> str:
    """Integers exactly; floats to 15 significant digits, so 0.1 + 0.2 reads 0.3."""
    if isinstance(value, int):
        return str(value)
    return f"{value:.15g}"


async def add(a: float, b: float) -> str:
    """Add two numbers: returns a + b.

    Args:
        a: the first number.
        b: the second number.
    """
    return format_number(a + b)


async def subtract(a: float, b: float) -> str:
    """Subtract one number from another: returns a - b.

    Args:
        a: the number to subtract from.
        b: the number to subtract.
    """
    return format_number(a - b)


async def multiply(a: float, b: float) -> str:
    """Multiply two numbers: returns a × b (for example shares × price per share).

    Args:
        a: the first factor.
        b: the second factor.
    """
    return format_number(a * b)


async def divide(a: float, b: float) -> str:
    """Divide one number by another: returns a / b (for example cash / price = affordable shares).

    Args:
        a: the dividend.
        b: the divisor; must not be zero.
    """
    if b == 0:
        raise ToolRefusal("division by zero is undefined; choose a divisor other than 0.")
    return format_number(a / b)


async def percent_change(old: float, new: float) -> str:
    """The change from `old` to `new` in percent: (new - old) / old × 100.

    Args:
        old: the starting value, for example yesterday's close; must not be zero.
        new: the later value, for example today's open.
    Returns the change in percent, for example "2.5" for a rise from 100 to 102.5.
    """
    if old == 0:
        raise ToolRefusal("a percent change from 0 is undefined.")
    return format_number((new - old) / old * 100)


async def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression and return its value.

    Allowed: numbers, + - * / // (floor division) % (remainder) ** (power), parentheses, unary minus,
    and the functions abs(x), round(x) or round(x, digits), min(a, b, ...), max(a, b, ...), sqrt(x),
    log(x) (natural) or log(x, base), exp(x). No variables or other functions. At most 200 characters.
    Example: "(10000 - 3 * 187.25) / 412.5" or "round(sqrt(2) * 100, 2)".

    Args:
        expression: the arithmetic expression to evaluate.
    """
    try:
        return format_number(evaluate(expression))
    except ExpressionError as exc:
        raise ToolRefusal(str(exc)) from None


TOOLS = (add, subtract, multiply, divide, percent_change, calculate)


def create_server() -> FastMCP:
    server = FastMCP("aibt-math", instructions="Arithmetic for trading decisions: exact sums, ratios and expressions.")
    return add_tools(server, TOOLS)
