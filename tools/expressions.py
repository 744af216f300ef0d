"""A safe evaluator for arithmetic expressions written by a model.

The expression is parsed with `ast` and only these nodes are walked: int and float literals,
+ - * / // % **, unary + and -, parentheses, and calls to a few named functions. Anything else
(names, attributes, subscripts, lambdas, comprehensions, strings) is refused before anything runs.
Powers are checked before they are computed and every intermediate result is bounded, so no
expression can take long or eat memory.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

MAX_LENGTH = 200
MAX_ABS = 1e300  # every intermediate result stays inside this
MAX_INT_BITS = 1000  # about 301 decimal digits


class ExpressionError(ValueError):
    """The expression is not allowed or has no finite real value; the message says why."""


Number = int | float

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def _sqrt(x: Number) -> float:
    if x < 0:
        raise ExpressionError("sqrt of a negative number has no real value.")
    return math.sqrt(x)


def _log(x: Number, base: Number | None = None) -> float:
    if x <= 0 or (base is not None and (base <= 0 or base == 1)):
        raise ExpressionError("log needs a positive number (and a positive base other than 1).")
    return math.log(x) if base is None else math.log(x, base)


def _round(x: Number, ndigits: int | None = None) -> Number:
    if ndigits is not None and (not isinstance(ndigits, int) or abs(ndigits) > 15):
        raise ExpressionError("round takes a whole number of digits between -15 and 15.")
    return round(x) if ndigits is None else round(x, ndigits)


FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int | None]] = {
    # name: (function, fewest arguments, most arguments or None for any number)
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "min": (min, 1, None),
    "max": (max, 1, None),
    "sqrt": (_sqrt, 1, 1),
    "log": (_log, 1, 2),
    "exp": (math.exp, 1, 1),
}


def evaluate(expression: str) -> Number:
    """The value of an arithmetic expression, or ExpressionError saying why it is refused."""
    if len(expression) > MAX_LENGTH:
        raise ExpressionError(f"The expression is {len(expression)} characters long; the limit is {MAX_LENGTH}.")
    if not expression.strip():
        raise ExpressionError("The expression is empty.")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise ExpressionError("The expression is not valid arithmetic.") from None
    return _walk(tree.body)


def _walk(node: ast.AST) -> Number:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExpressionError(f"Only numbers are allowed, not {value!r}.")
        return _bounded(value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _bounded(_UNARY[type(node.op)](_walk(node.operand)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _walk(node.left), _walk(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        try:
            return _bounded(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise ExpressionError("Division by zero is undefined.") from None
        except OverflowError:
            raise ExpressionError("The result is too large.") from None
    if isinstance(node, ast.Call):
        return _call(node)
    raise ExpressionError(
        f"{_describe(node)} is not allowed; use numbers, + - * / // % **, parentheses and {', '.join(FUNCTIONS)}."
    )


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        name = node.func.id if isinstance(node.func, ast.Name) else "this call"
        raise ExpressionError(f"{name!s} is not an allowed function; the functions are {', '.join(FUNCTIONS)}.")
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise ExpressionError(f"{node.func.id} takes plain positional numbers only.")
    function, fewest, most = FUNCTIONS[node.func.id]
    if len(node.args) < fewest or (most is not None and len(node.args) > most):
        expected = str(fewest) if most == fewest else f"{fewest} or more" if most is None else f"{fewest} to {most}"
        raise ExpressionError(f"{node.func.id} takes {expected} argument(s), not {len(node.args)}.")
    args = [_walk(arg) for arg in node.args]
    try:
        return _bounded(function(*args))
    except OverflowError:
        raise ExpressionError("The result is too large.") from None
    except (ValueError, TypeError) as exc:
        if isinstance(exc, ExpressionError):
            raise
        raise ExpressionError(f"{node.func.id}: {exc}") from None


def _check_power(base: Number, exponent: Number) -> None:
    if abs(exponent) > 10_000:
        raise ExpressionError("The exponent is too large.")
    if abs(base) > 1 and exponent > 0 and exponent * math.log10(abs(base)) > 300:
        raise ExpressionError("The result is too large.")
    if base == 0 and exponent < 0:
        raise ExpressionError("Division by zero is undefined.")


def _bounded(value: object) -> Number:
    if isinstance(value, complex):
        raise ExpressionError("The result is not a real number.")
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_INT_BITS:
            raise ExpressionError("The result is too large.")
        return value
    if isinstance(value, float):
        if math.isnan(value) or abs(value) > MAX_ABS:
            raise ExpressionError("The result is too large or not a number.")
        return value
    raise ExpressionError("Only numbers are allowed.")


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return f"The name {node.id!r}"
    if isinstance(node, ast.Attribute):
        return f"Attribute access (.{node.attr})"
    if isinstance(node, ast.Lambda):
        return "A lambda"
    return f"{type(node).__name__}"
