"""The run a tool call belongs to, taken from the credential the call carries (or its connection's header)."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import inspect
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import ParamSpec, TypeVar

from mcp.server.fastmcp import Context, FastMCP

from db_models.runs import Run, RunStatus
from db_models.settings import get_settings
from tools.credentials import HEADER, META_KEY, CredentialError, verify_run_credential

P = ParamSpec("P")
R = TypeVar("R")


class ToolRefusal(Exception):
    """A refusal the agent should read (no credential, run over); tools turn it into plain text."""


def credential_of(ctx: Context) -> str | None:
    """The call's own credential (in its `_meta`: a worker's session serves many runs), else its connection's."""
    meta = ctx.request_context.meta
    sent = (meta.model_extra or {}).get(META_KEY) if meta is not None else None
    if sent is not None:
        return str(sent)
    request = ctx.request_context.request
    return None if request is None else request.headers.get(HEADER)


async def current_run(ctx: Context) -> Run:
    """The credential's run, which must be running: a finished run's credential opens nothing.

    Each call reads what can change (status, clock) afresh, so a refusal and the clock are exact; the run's
    other fields, fixed once it runs, are read once per process (see _fixed_fields)."""
    try:
        run_id = verify_run_credential(get_settings(), credential_of(ctx))
    except CredentialError as exc:
        raise ToolRefusal(str(exc)) from None
    now = await Run.filter(id=run_id).first().values_list("status", "clock_at", "created_at")
    if now is None or now[0] != RunStatus.RUNNING:
        _fixed.pop(run_id, None)
        raise ToolRefusal("This run is not running; its tools are closed.")
    status, clock_at, created_at = now
    if clock_at is None:
        raise ToolRefusal("This run has not started its clock yet.")
    run = copy.copy(await _fixed_fields(run_id, created_at))
    run.status, run.clock_at = status, clock_at
    return run


# The runs whose fixed fields this process keeps, most recently used last; an evicted run is read again.
KEPT_RUNS = 256
_fixed: OrderedDict[int, Run] = OrderedDict()


async def _fixed_fields(run_id: int, created_at: dt.datetime) -> Run:
    """The run as read when this process first served it: its snapshot, mode and interval do not change while
    it runs. `created_at` tells a run from another database's run of the same id (tests make many)."""
    run = _fixed.pop(run_id, None)
    if run is None or run.created_at != created_at:
        run = await Run.get(id=run_id)
    _fixed[run_id] = run
    while len(_fixed) > KEPT_RUNS:
        _fixed.popitem(last=False)
    return run


def refusals_as_text(tool: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | str]]:
    """Wraps a tool so a ToolRefusal reaches the agent as a readable sentence, not an error trace."""

    @functools.wraps(tool)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | str:
        try:
            return await tool(*args, **kwargs)
        except ToolRefusal as refusal:
            return f"Refused: {refusal}"

    # The tool's declared result widens to admit the refusal text, so the tool's signature stays true.
    signature = inspect.signature(tool, eval_str=True)
    returns = signature.return_annotation
    if returns is not inspect.Signature.empty and returns is not str:
        wrapper.__signature__ = signature.replace(return_annotation=returns | str)  # type: ignore[attr-defined]
    return wrapper


def add_tools(server: FastMCP, tools: Iterable[Callable[..., Awaitable[object]]]) -> FastMCP:
    """Registers each tool with its refusals as text, and unstructured: the agent reads the text content only,
    while an output schema makes the server and the client each validate every answer against it with
    jsonschema (checking the schema itself each time), about a fifth of a call's cost."""
    for tool in tools:
        server.add_tool(refusals_as_text(tool), structured_output=False)
    return server
