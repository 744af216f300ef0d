"""The analyst's arena tool, bound to the asking user: an arena's standings, its baselines, and what its leader
traded and wrote, so "who won the arena and why?" is answered from the figures and the logs.

An arena is named by its name (the newest of that name) or left out for the user's newest arena; another
user's arena answers exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from db_models.arenas import Arena, arena_status
from db_models.baselines import arena_baselines
from db_models.metrics import run_performance
from db_models.runs import ActionType, Position, ReasoningLog, Run
from db_models.standings import Standing, compute_standings

MAX_ARENAS_LISTED = 20
MAX_LEADER_TRADES = 10
MAX_LEADER_NOTES = 3
MAX_NOTE_CHARS = 400


class ArenaLookup(Exception):
    """An arena the tool cannot find; str(exc) is the sentence the LLM reads."""


async def find_arena(user_id: int, reference: str | None) -> Arena:
    arenas = Arena.filter(owner_id=user_id)
    if reference is None or not str(reference).strip():
        arena = await arenas.order_by("-id").first()
        if arena is None:
            raise ArenaLookup("Not found: you have no arenas yet.")
        return arena
    name = str(reference).strip()
    arena = await arenas.filter(name__iexact=name).order_by("-id").first()
    if arena is not None:
        return arena
    names = await arenas.order_by("-id").limit(MAX_ARENAS_LISTED).values_list("name", flat=True)
    listed = ", ".join(dict.fromkeys(names)) or "none"
    raise ArenaLookup(f"Not found: you have no arena called {name!r}; yours are: {listed}.")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _standing(standing: Standing) -> dict[str, Any]:
    run, figures = standing.run, standing.figures
    snapshot = run.strategy_snapshot or {}
    return {
        "rank": standing.rank,
        "model": snapshot.get("name"),
        "aiModel": snapshot.get("ai_model"),
        "runNumber": run.run_number,
        "status": str(run.status),
        "totalReturn": None if figures is None else _round(figures.total_return),
        "sharpeRatio": None if figures is None else _round(figures.sharpe_ratio),
        "maxDrawdown": None if figures is None else _round(figures.max_drawdown),
        "trades": run.total_trades,
        "fees": None if figures is None else _round(figures.total_fees),
        "llmCalls": run.llm_calls,
        "inputTokens": run.input_tokens,
        "outputTokens": run.output_tokens,
        "excessReturn": _round(standing.excess_return),
        "excessReturnOverIndex": _round(standing.excess_return_over_index),
        "error": run.error,
    }


async def _leader(standing: Standing) -> dict[str, Any]:
    """What the leading run did: its first trades, and what it wrote on the days it traded."""
    run = standing.run
    trades = await Position.filter(run_id=run.id, action__in=[ActionType.BUY, ActionType.SELL]).order_by("action_id")
    notes = []
    for day in list(dict.fromkeys(t.date for t in trades))[:MAX_LEADER_NOTES]:
        for log in await ReasoningLog.filter(run_id=run.id, date=day).order_by("timestamp"):
            said = [m.get("content") for m in log.messages or [] if m.get("role") == "assistant" and m.get("content")]
            if said:
                notes.append({"date": day, "text": " ".join(str(said[-1]).split())[:MAX_NOTE_CHARS]})
    return {
        "model": (run.strategy_snapshot or {}).get("name"),
        "trades": [
            {"date": t.date, "action": str(t.action), "symbol": t.symbol, "amount": t.amount, "price": t.price}
            for t in trades[:MAX_LEADER_TRADES]
        ],
        "moreTrades": max(0, len(trades) - MAX_LEADER_TRADES),
        "notes": notes,
    }


async def arena_report(arena: Arena) -> dict[str, Any]:
    runs = await Run.filter(arena_id=arena.id).order_by("id")
    baselines = await arena_baselines(arena, [r.id for r in runs])
    standings = await compute_standings(runs, [await run_performance(r) for r in runs], baselines)
    return {
        "arena": {
            "name": arena.name,
            "status": str(arena_status(r.status for r in runs)),
            "startDate": arena.start_date,
            "endDate": arena.end_date,
            "benchmarkSymbol": arena.benchmark_symbol,
        },
        "benchmarks": [
            {
                "kind": str(b.spec.kind),
                "label": b.spec.label,
                "totalReturn": _round(b.performance.total_return),
                "sharpeRatio": _round(b.performance.sharpe_ratio),
                "maxDrawdown": _round(b.performance.max_drawdown),
            }
            for b in baselines
        ],
        "standings": [_standing(s) for s in standings],
        "leader": await _leader(standings[0]) if standings and standings[0].figures is not None else None,
    }
