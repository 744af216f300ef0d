"""The analyst's tools, bound to the asking user.

Every tool is a closure over an AnalystScope (agents/chat/scope.py), which finds the models and runs the
LLM names among the asking user's own only. Results are compact JSON text; a lookup that fails answers a
sentence starting with "Not found:".
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agents.chat.arena_tools import ArenaLookup, arena_report, find_arena
from agents.chat.scope import (
    MAX_KEY,
    MAX_MODELS,
    AnalystScope,
    Lookup,
    compact,
    model_label,
    parse_date,
    performance_dict,
    run_number_of,
    run_summary,
)
from db_models.metrics import run_performance as compute_run_performance
from db_models.runs import Position, ReasoningLog, Run

MAX_RUNS_PER_MODEL = 50
MAX_COMPARED_RUNS = 10
MAX_POSITIONS = 100
MAX_LOG_CHARS = 6000
MAX_LOG_MESSAGE_CHARS = 800
TOOL_NAMES = (
    "list_models_and_runs",
    "run_performance",
    "compare_runs",
    "positions",
    "reasoning_logs",
    "arena_standings",
)


def _answer(error: Lookup) -> str:
    return str(error)


def make_analyst_tools(scope: AnalystScope) -> list[BaseTool]:
    """The analyst tools, each reading only `scope.user_id`'s models, runs and arenas."""

    async def list_models_and_runs() -> str:
        """List the user's trading models (name, signature, AI model, tickers, initial cash) and each model's
        runs (run number, status, mode, dates, trade count, final return as a fraction)."""
        models = await scope.models().order_by("id").limit(MAX_MODELS + 1)
        listed = []
        for model in models[:MAX_MODELS]:
            runs = await Run.filter(model_id=model.id).order_by("-run_number").limit(MAX_RUNS_PER_MODEL + 1)
            listed.append(
                {
                    **model_label(model),
                    "aiModel": model.ai_model,
                    "allowedTickers": model.allowed_tickers,
                    "initialCash": model.initial_cash,
                    "runs": [
                        {
                            "runNumber": r.run_number,
                            "status": str(r.status),
                            "mode": str(r.mode),
                            "startDate": r.start_date or r.date,
                            "endDate": r.end_date or r.date,
                            "tradeCount": r.total_trades,
                            "finalReturn": r.final_return,
                        }
                        for r in sorted(runs[:MAX_RUNS_PER_MODEL], key=lambda r: r.run_number)
                    ],
                    "moreRuns": len(runs) > MAX_RUNS_PER_MODEL,
                }
            )
        return compact({"models": listed, "moreModels": len(models) > MAX_MODELS})

    async def run_performance(run_number: int | None = None, model: str | None = None) -> str:
        """Performance of one run: total and annualized return, volatility, Sharpe and Sortino ratios, max
        drawdown, win rate (fractions), trade count, trading days, status and dates.

        Args:
            run_number: the run's number within the model; omit for the conversation's (or the latest) run.
            model: the model's name or signature; omit for the conversation's model.
        """
        try:
            found = await scope.model(model)
            return compact(await scope.performance_of(found, await scope.run(found, run_number)))
        except Lookup as error:
            return _answer(error)

    async def compare_runs(run_numbers: list[int] | None = None, model: str | None = None) -> str:
        """Compare runs of one model side by side: each run's status, dates, trade count and performance
        figures (fractions).

        Args:
            run_numbers: the runs' numbers within the model; omit to compare the model's latest runs.
            model: the model's name or signature; omit for the conversation's model.
        """
        try:
            found = await scope.model(model)
            numbers = [run_number_of(n) for n in (run_numbers or [])]
        except Lookup as error:
            return _answer(error)
        runs = Run.filter(model_id=found.id, model__owner_id=scope.user_id)
        if numbers:
            numbers = list(dict.fromkeys(n for n in numbers if n is not None))[:MAX_COMPARED_RUNS]
            asked = [n for n in numbers if abs(n) <= MAX_KEY]
            chosen = {r.run_number: r for r in await runs.filter(run_number__in=asked)} if asked else {}
        else:
            latest = await runs.order_by("-run_number").limit(MAX_COMPARED_RUNS)
            numbers = sorted(r.run_number for r in latest)
            chosen = {r.run_number: r for r in latest}
        if not chosen:
            return f"Not found: {found.name} ({found.signature}) has no runs {', '.join(map(str, numbers)) or 'yet'}."
        compared = []
        for number in numbers:
            if number in chosen:
                run = chosen[number]
                compared.append(
                    {**run_summary(run), "performance": performance_dict(await compute_run_performance(run))}
                )
        return compact(
            {"model": model_label(found), "runs": compared, "notFound": [n for n in numbers if n not in chosen]}
        )

    async def positions(
        model: str | None = None,
        run_number: int | None = None,
        from_date: str | None = None,
        to_date: str | None = None,
    ) -> str:
        """The run's actions (BUY or SELL with amount, fill price after slippage and fee; NO_TRADE; SPLIT with
        the shares before it and its ratio as price; DIVIDEND with the shares held and the cash per share as
        price) and the portfolio after each, oldest first, at most 100 rows.

        Args:
            model: the model's name or signature; omit for the conversation's model.
            run_number: the run's number within the model; omit for the conversation's (or the latest) run.
            from_date: first date, YYYY-MM-DD, inclusive; omit for the run's start.
            to_date: last date, YYYY-MM-DD, inclusive; omit for the run's end.
        """
        try:
            found = await scope.model(model)
            run = await scope.run(found, run_number)
            start, end = parse_date(from_date, "from_date"), parse_date(to_date, "to_date")
        except Lookup as error:
            return _answer(error)
        rows = Position.filter(run_id=run.id)
        if start is not None:
            rows = rows.filter(date__gte=start)
        if end is not None:
            rows = rows.filter(date__lte=end)
        total = await rows.count()
        found_rows = await rows.order_by("action_id").limit(MAX_POSITIONS)
        return compact(
            {
                "model": model_label(found),
                "runNumber": run.run_number,
                "fromDate": start,
                "toDate": end,
                "count": total,
                "truncated": total > MAX_POSITIONS,
                "positions": [
                    {
                        "date": p.date,
                        "time": p.timestamp,
                        "action": str(p.action),
                        "symbol": p.symbol,
                        "amount": p.amount,
                        "price": p.price,
                        "fee": p.fee,
                        "cash": p.cash,
                        "holdings": p.holdings,
                    }
                    for p in found_rows
                ],
            }
        )

    async def reasoning_logs(model: str | None = None, run_number: int | None = None, date: str | None = None) -> str:
        """What the trading agent said and did on one date of a run: its messages and tool calls (text capped).

        Args:
            model: the model's name or signature; omit for the conversation's model.
            run_number: the run's number within the model; omit for the conversation's (or the latest) run.
            date: the date, YYYY-MM-DD; omit for the run's latest date with logs.
        """
        try:
            found = await scope.model(model)
            run = await scope.run(found, run_number)
            day = parse_date(date, "date")
        except Lookup as error:
            return _answer(error)
        if day is None:
            latest = await ReasoningLog.filter(run_id=run.id).order_by("-timestamp").first()
            if latest is None:
                return f"Not found: run {run.run_number} of {found.name} has no reasoning logs yet."
            day = latest.date
        logs = await ReasoningLog.filter(run_id=run.id, date=day).order_by("timestamp").limit(50)
        steps, used, truncated = [], 0, False
        for log in logs:
            lines = []
            for message in log.messages or []:
                if message.get("role") in ("system", "user"):
                    continue
                text = str(message.get("content") or "")[:MAX_LOG_MESSAGE_CHARS]
                calls = [{"name": c.get("name"), "args": c.get("args")} for c in message.get("tool_calls") or []]
                entry = {"role": message.get("role"), "text": text}
                if calls:
                    entry["toolCalls"] = calls
                if message.get("name"):
                    entry["tool"] = message["name"]
                size = len(compact(entry))
                if used + size > MAX_LOG_CHARS:
                    truncated = True
                    break
                used += size
                lines.append(entry)
            steps.append({"time": log.timestamp, "messages": lines})
            if truncated:
                break
        return compact(
            {
                "model": model_label(found),
                "runNumber": run.run_number,
                "date": day,
                "steps": steps,
                "truncated": truncated,
            }
        )

    async def arena_standings(arena: str | None = None) -> str:
        """Standings of an arena (several models run over the same days): each run's rank by total return,
        Sharpe ratio, max drawdown, trades, LLM calls and tokens, and excess return over the arena's buy-and-hold
        baseline (fractions); the baselines' figures; and the leader's trades and what it wrote when trading.

        Args:
            arena: the arena's name; omit for the newest arena.
        """
        try:
            found = await find_arena(scope.user_id, arena)
        except ArenaLookup as error:
            return str(error)
        return compact(await arena_report(found))

    functions = [list_models_and_runs, run_performance, compare_runs, positions, reasoning_logs, arena_standings]
    return [_bound_tool(f) for f in functions]


# Argument schemas and OpenAI specs depend only on the functions' signatures and docstrings, the same
# for every user: they are made once per process, not per reply (pydantic schemas cost ~10 ms each).
_SCHEMAS: dict[str, tuple[str, Any]] = {}  # tool name -> (description, args schema)
_SPECS: list[dict[str, Any]] = []


def _bound_tool(function) -> StructuredTool:
    name = function.__name__
    if name not in _SCHEMAS:
        made = StructuredTool.from_function(
            coroutine=function, name=name, parse_docstring=name != "list_models_and_runs"
        )
        _SCHEMAS[name] = (made.description, made.args_schema)
    description, args_schema = _SCHEMAS[name]
    return StructuredTool(name=name, description=description, args_schema=args_schema, coroutine=function)


def tool_specs(tools: list[BaseTool]) -> list[dict[str, Any]] | list[BaseTool]:
    """The tools as OpenAI tool specs for bind_tools, made once for the analyst tools."""
    if [t.name for t in tools] != list(TOOL_NAMES):
        return tools
    if not _SPECS:
        _SPECS.extend(convert_to_openai_tool(t) for t in tools)
    return _SPECS
