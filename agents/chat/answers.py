"""What local/analyst says: the tool a question needs, and the sentences made from the tool's result.

A turn is the user's latest message and the tool calls made since. `reply` either asks for the tool
the question needs (no text, so the reply is only the answer) or answers from the tool's result.
Returns, drawdowns and win rates arrive as fractions and are said as percentages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agents.chat.arena_answers import arena_answer
from agents.chat.questions import tool_request
from agents.message_text import text_content

MAX_TRADES_LISTED = 20
MAX_REASONING_CHARS = 1200


@dataclass
class Reply:
    text: str
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Turn:
    """The user's latest message, the tools bound, and the results of the tools called since."""

    question: str
    tool_names: frozenset[str]
    results: list[tuple[str, dict[str, Any], str]]  # (name, args, result text), in order

    @classmethod
    def read(cls, messages: Sequence[BaseMessage], tool_names: Sequence[str]) -> Turn:
        start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        question = text_content(messages[start]) if start >= 0 else ""
        later = list(messages[start + 1 :])
        answered = {m.tool_call_id: text_content(m) for m in later if isinstance(m, ToolMessage)}
        results = [
            (c["name"], dict(c["args"]), answered[c["id"]])
            for m in later
            if isinstance(m, AIMessage)
            for c in m.tool_calls
            if c["id"] in answered
        ]
        return cls(question, frozenset(tool_names), results)

    def result(self, name: str) -> tuple[dict[str, Any], dict[str, Any] | str] | None:
        for called, args, text in reversed(self.results):
            if called == name:
                try:
                    value = json.loads(text)
                except ValueError:
                    return args, text.strip()
                return args, value if isinstance(value, dict) else text.strip()
        return None


def pct(value: float | None, *, signed: bool = True) -> str:
    if value is None:
        return "not available"
    return f"{value * 100:+.2f}%" if signed else f"{value * 100:.2f}%"


def ratio(value: float | None) -> str:
    return "not available" if value is None else f"{value:.2f}"


def dollars(value: float | None) -> str:
    return "not available" if value is None else f"${value:,.2f}"


def run_name(result: dict[str, Any], number: int | None = None) -> str:
    model = result.get("model") or {}
    run = number if number is not None else result.get("runNumber")
    return f"Run {run} of {model.get('name', 'your model')} ({model.get('signature', '?')})"


def period(run: dict[str, Any]) -> str:
    mode = "an intraday session" if run.get("mode") == "INTRADAY" else "a daily backtest"
    if run.get("startDate") and run.get("endDate") and run["startDate"] != run["endDate"]:
        return f"{mode} from {run['startDate']} to {run['endDate']}"
    if run.get("startDate"):
        return f"{mode} on {run['startDate']}" + (f" trading {run['symbol']}" if run.get("symbol") else "")
    return mode


def performance_answer(result: dict[str, Any]) -> str:
    figures = result.get("performance")
    status = str(result.get("status", "")).lower() or "in an unknown state"
    head = f"{run_name(result)} is {status}, {period(result)}."
    trades = result.get("tradeCount", 0)
    if not figures:
        return (
            f"{head} It has no portfolio values yet, so there are no performance figures; "
            f"it has made {trades} trade{'' if trades == 1 else 's'} so far."
        )
    sentences = [
        head,
        f"It returned {pct(figures['totalReturn'])}, from {dollars(figures['initialValue'])} to "
        f"{dollars(figures['finalValue'])}, over {figures['tradingDays']} trading "
        f"day{'' if figures['tradingDays'] == 1 else 's'}.",
        f"Its Sharpe ratio is {ratio(figures['sharpeRatio'])} and its maximum drawdown was "
        f"{pct(figures['maxDrawdown'], signed=False)}.",
        f"It made {trades} trade{'' if trades == 1 else 's'}"
        + (
            f", and {pct(figures['winRate'], signed=False)} of its sells beat their average cost."
            if figures.get("winRate") is not None
            else ", with no sell to judge a win rate by yet."
        ),
    ]
    extras = []
    if figures.get("annualizedReturn") is not None:
        extras.append(f"annualized return {pct(figures['annualizedReturn'])}")
    if figures.get("volatility") is not None:
        extras.append(f"annualized volatility {pct(figures['volatility'], signed=False)}")
    if figures.get("sortinoRatio") is not None:
        extras.append(f"Sortino ratio {ratio(figures['sortinoRatio'])}")
    if extras:
        sentences.append("Also: " + ", ".join(extras) + ".")
    return " ".join(sentences)


COMPARED = (  # (label, key, format, which is better)
    ("total return", "totalReturn", pct, "higher"),
    ("Sharpe ratio", "sharpeRatio", ratio, "higher"),
    ("maximum drawdown", "maxDrawdown", lambda v: pct(v, signed=False), "lower"),
    ("volatility", "volatility", lambda v: pct(v, signed=False), "lower"),
    ("win rate", "winRate", lambda v: pct(v, signed=False), "higher"),
)


def compare_answer(result: dict[str, Any]) -> str:
    runs = result.get("runs") or []
    model = result.get("model") or {}
    missing = result.get("notFound") or []
    numbers = [str(r["runNumber"]) for r in runs]
    if not numbers:
        return f"There are no runs of {model.get('name')} ({model.get('signature')}) to compare."
    names = numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " and " + numbers[-1]
    sentences = [
        f"Comparing run{'s' if len(numbers) > 1 else ''} {names} of {model.get('name')} ({model.get('signature')})."
    ]
    if missing:
        sentences.append(f"Not found: run{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))}.")
    measured = [r for r in runs if r.get("performance")]
    for run in runs:
        if not run.get("performance"):
            sentences.append(f"Run {run['runNumber']} ({str(run.get('status', '')).lower()}) has no figures yet.")
    if len(measured) < 1:
        return " ".join(sentences)
    for label, key, say, better in COMPARED:
        values = [(r["runNumber"], r["performance"].get(key)) for r in measured]
        known = [(n, v) for n, v in values if v is not None]
        listed = ", ".join(f"run {n} {say(v)}" for n, v in values)
        sentence = f"{label[0].upper()}{label[1:]}: {listed}"
        if len(known) >= 2:
            best = (max if better == "higher" else min)(known, key=lambda item: item[1])
            if sum(1 for _, v in known if v == best[1]) == 1:
                sentence += f"; run {best[0]} is best ({better} is better)"
        sentences.append(sentence + ".")
    trades = ", ".join(f"run {r['runNumber']} {r.get('tradeCount', 0)}" for r in runs)
    sentences.append(f"Trades: {trades}.")
    return " ".join(sentences)


def _trade_phrase(row: dict[str, Any], *, dated: bool) -> str:
    verb = "bought" if row["action"] == "BUY" else "sold"
    return f"{verb} {row['amount']} {row['symbol']} at {dollars(row['price'])}" + (
        f" on {row['date']}" if dated else ""
    )


def positions_answer(result: dict[str, Any]) -> str:
    rows = result.get("positions") or []
    trades = [r for r in rows if r.get("action") in ("BUY", "SELL")]
    start, end = result.get("fromDate"), result.get("toDate")
    when = (
        f"on {start}"
        if start and start == end
        else f"from {start} to {end}"
        if start and end
        else f"from {start}"
        if start
        else f"up to {end}"
        if end
        else "over the whole run"
    )
    name = run_name(result)
    if not trades:
        idle = f" ({len(rows)} step{'' if len(rows) == 1 else 's'} without a trade)" if rows else ""
        return f"{name} made no trades {when}{idle}."
    shown = trades[:MAX_TRADES_LISTED]
    text = f"{name} made {len(trades)} trade{'' if len(trades) == 1 else 's'} {when}: " + "; ".join(
        _trade_phrase(r, dated=not (start and start == end)) for r in shown
    )
    if len(trades) > len(shown):
        text += f"; and {len(trades) - len(shown)} more"
    text += "."
    if result.get("truncated"):
        text += f" Only the first {len(rows)} of {result.get('count')} actions were read; ask about a narrower range."
    last = rows[-1]
    holdings = ", ".join(f"{n} {s}" for s, n in sorted((last.get("holdings") or {}).items())) or "no shares"
    text += f" Afterwards it held {holdings} and {dollars(last.get('cash'))} in cash."
    return text


def reasoning_answer(result: dict[str, Any]) -> str:
    said = []
    actions = []
    for step in result.get("steps") or []:
        for message in step.get("messages") or []:
            if message.get("role") == "assistant" and message.get("text", "").strip():
                said.append(" ".join(message["text"].split()))
            for call in message.get("toolCalls") or []:
                args = ", ".join(f"{k}={v}" for k, v in sorted((call.get("args") or {}).items()))
                actions.append(f"{call.get('name')}({args})")
    model = result.get("model") or {}
    head = (
        f"On {result.get('date')}, in run {result.get('runNumber')} of {model.get('name')} "
        f"({model.get('signature')}), the agent"
    )
    if not said and not actions:
        return f"{head} left no reasoning in its logs."
    text = ""
    if actions:
        text += f"{head} called {', '.join(actions[:12])}{' and more' if len(actions) > 12 else ''}."
    if said:
        quote = " ".join(said)
        if len(quote) > MAX_REASONING_CHARS:
            quote = quote[: MAX_REASONING_CHARS - 1].rstrip() + "…"
        text += f' It wrote: "{quote}"' if text else f'{head} wrote: "{quote}"'
    return text.strip()


def list_answer(result: dict[str, Any]) -> str:
    models = result.get("models") or []
    if not models:
        return "You have no trading models yet. Create one, run a backtest, and ask me how it did."
    parts = [f"You have {len(models)} model{'' if len(models) == 1 else 's'}."]
    for model in models:
        runs = model.get("runs") or []
        head = f"{model['name']} ({model['signature']}, {model.get('aiModel')})"
        if not runs:
            parts.append(f"{head} has no runs yet.")
            continue
        listed = "; ".join(
            f"run {r['runNumber']} {str(r['status']).lower()}"
            + (f", {pct(r['finalReturn'])}" if r.get("finalReturn") is not None else "")
            + f", {r.get('tradeCount', 0)} trade{'' if r.get('tradeCount', 0) == 1 else 's'}"
            for r in runs
        )
        parts.append(f"{head} has {len(runs)} run{'' if len(runs) == 1 else 's'}: {listed}.")
    return " ".join(parts)


HELP = (
    "I am the AIBT analyst. I can tell you how a run did (return, Sharpe ratio, drawdown, trades), compare "
    "runs side by side, list the trades of a date or a date range, show what the agent was thinking on a "
    'date, list your models and runs, and say who won an arena and why. Try "how did run 1 do?", "compare '
    'runs 1 and 2", "what trades did it make on 2025-01-15?", "list my models" or "who won the arena?".'
)
ANSWERS = {
    "run_performance": performance_answer,
    "compare_runs": compare_answer,
    "positions": positions_answer,
    "reasoning_logs": reasoning_answer,
    "list_models_and_runs": list_answer,
    "arena_standings": arena_answer,
}


def reply(turn: Turn) -> Reply:
    wanted = tool_request(turn.question)
    if wanted is None:
        return Reply(HELP)
    name, args = wanted
    found = turn.result(name)
    if found is None:
        if name in turn.tool_names:
            return Reply("", [(name, args)])
        return Reply(f"I cannot look that up right now (the {name} tool is not available). {HELP}")
    _, result = found
    if isinstance(result, str):
        if result.startswith("Not found:"):
            return Reply(f'{result} I can only see your own models and runs; "list my models" shows them.')
        return Reply(f"I could not get an answer: {result}")
    try:
        return Reply(ANSWERS[name](result))
    except (KeyError, TypeError, ValueError) as error:
        return Reply(f"The {name} tool answered in a form I could not read ({error}).")
