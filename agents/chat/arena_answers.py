"""What local/analyst says about an arena: who leads or won, by how much against the baseline, and why, in
sentences made from the arena_standings tool's result (figures arrive as fractions, said as percentages)."""

from __future__ import annotations

import re
from typing import Any

ARENA_NAME = re.compile(r"[\"“'‘]([^\"”'’]{1,100})[\"”'’]")
ARENA_WORD = re.compile(r"\barenas?\b", re.IGNORECASE)


def arena_request(question: str) -> tuple[str, dict[str, Any]] | None:
    """The arena_standings call a question about an arena needs: its quoted name, else the newest arena."""
    if not ARENA_WORD.search(question):
        return None
    quoted = ARENA_NAME.search(question)
    return "arena_standings", ({"arena": quoted.group(1).strip()} if quoted else {})


def _percent(value: float) -> float:
    """value as a percentage to two places, with -0.00 said as 0.00."""
    return round(value * 100, 2) + 0.0


def _pct(value: float | None) -> str:
    return "not available" if value is None else f"{_percent(value):+.2f}%"


def _plain_pct(value: float | None) -> str:
    return "not available" if value is None else f"{_percent(value):.2f}%"


def _ratio(value: float | None) -> str:
    return "not available" if value is None else f"{value:.2f}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _why(leader: dict[str, Any] | None) -> list[str]:
    if not leader:
        return []
    sentences = []
    trades = leader.get("trades") or []
    if trades:
        listed = "; ".join(
            f"{'bought' if t['action'] == 'BUY' else 'sold'} {t['amount']} {t['symbol']} at ${t['price']:,.2f} "
            f"on {t['date']}"
            for t in trades[:5]
        )
        more = len(trades) - 5 + (leader.get("moreTrades") or 0)
        sentences.append(f"Its trades: {listed}" + (f"; and {more} more." if more > 0 else "."))
    else:
        sentences.append("It made no trade: it held its cash.")
    for note in (leader.get("notes") or [])[:2]:
        sentences.append(f'On {note["date"]} it wrote: "{note["text"]}"')
    return sentences


def arena_answer(result: dict[str, Any]) -> str:
    arena = result.get("arena") or {}
    standings = result.get("standings") or []
    status = str(arena.get("status", "")).lower()
    head = f'The arena "{arena.get("name")}" ({arena.get("startDate")} to {arena.get("endDate")}) is {status}.'
    measured = [s for s in standings if s.get("totalReturn") is not None]
    if not measured:
        return f"{head} None of its {_plural(len(standings), 'run')} has a closing value yet, so nobody leads."
    baselines = result.get("benchmarks") or []
    hold = next((b for b in baselines if b.get("kind") == "BUY_AND_HOLD"), None)
    leaders = [s for s in measured if s["rank"] == 1]
    top = leaders[0]
    verb = "won" if status in ("completed", "failed", "cancelled") else "leads"
    if len(leaders) > 1:
        names = " and ".join(s["model"] for s in leaders)
        sentences = [head, f"{names} share first place with a total return of {_pct(top['totalReturn'])}."]
    else:
        sentences = [
            head,
            f"{top['model']} ({top['aiModel']}) {verb} with a total return of {_pct(top['totalReturn'])}.",
        ]
    if hold is not None and top.get("excessReturn") is not None:
        excess = _percent(top["excessReturn"])
        beat = "beating" if excess > 0 else "trailing" if excess < 0 else "matching"
        sentences.append(
            f"That is {_pct(top['excessReturn'])} against the baseline ({hold['label']}, "
            f"{_pct(hold['totalReturn'])}), {beat} it."
        )
    fees = f" (${top['fees']:,.2f} in fees)" if top.get("fees") else ""
    sentences.append(
        f"Its Sharpe ratio was {_ratio(top['sharpeRatio'])} and its maximum drawdown "
        f"{_plain_pct(top['maxDrawdown'])}, over {_plural(top['trades'], 'trade')}{fees} and "
        f"{_plural(top['llmCalls'], 'LLM call')}."
    )
    sentences += _why(result.get("leader"))
    others = [s for s in standings if s not in leaders]
    if others:
        ranked = "; ".join(
            f"{s['rank']}. {s['model']} {_pct(s['totalReturn'])}"
            + ("" if s.get("excessReturn") is None else f" ({_pct(s['excessReturn'])} vs the baseline)")
            for s in others
        )
        sentences.append(f"The rest: {ranked}.")
    return " ".join(sentences)
