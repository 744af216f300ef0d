"""Local deterministic models: real trading strategies expressed as chat models.

They need no network and answer the same conversation the same way every time. Each turn they read
the day's conversation (the platform's run facts in the system prompt and the tool results, which
arrive as JSON text from the MCP tools), decide the next tool calls or the closing summary, and answer
like a remote model: streamed, text token by token, then the tool calls, then a usage report counted in
whitespace-separated words of the prompt and of the output; invoked, the same message whole.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agents.message_text import text_content
from agents.scripted_model import ScriptedChatModel
from agents.trading.prompts import read_run_facts

SHORT_WINDOW = 5
LONG_WINDOW = 20
# Tools that answer several tickers in one call (`symbols`), and the key listing each ticker's answer.
PER_SYMBOL_LISTS = {"quote": "quotes", "indicators": "indicators"}


@functools.lru_cache(maxsize=512)
def tool_result(text: str) -> dict[str, Any] | str:
    """A tool's JSON answer as a dict (numbers as Decimal), or its refusal or error as text.

    Every turn re-reads the day's answers, so each is parsed once and the parse shared: read it, never change it."""
    try:
        value = json.loads(text, parse_float=Decimal)
    except ValueError:
        return text.strip()
    return value if isinstance(value, dict) else text.strip()


def money(value: Decimal) -> str:
    return f"{Decimal(value):,.2f}"


@dataclass(frozen=True)
class Call:
    name: str
    args: dict[str, Any]
    result: dict[str, Any] | str | None  # None until the tool has answered

    @property
    def symbol(self) -> str | None:
        symbol = self.args.get("symbol")
        return str(symbol).upper() if symbol else None

    def per_symbol(self) -> list[Call]:
        """A call that named several tickers (`symbols`) as one call per ticker, each with its own answer (a
        ticker's refusal as text, as a one-ticker call answers it); any other call as itself."""
        if not self.args.get("symbols"):
            return [self]
        answers: dict[str, dict[str, Any] | str] = {}
        if isinstance(self.result, dict):
            for entry in self.result.get(PER_SYMBOL_LISTS.get(self.name, ""), []):
                ticker = str(entry.get("symbol", "")).upper()
                answers[ticker] = f"Refused: {entry['refused']}" if "refused" in entry else entry
        return [
            Call(self.name, {"symbol": ticker}, self._answer_for(ticker, answers))
            for ticker in (str(s).upper() for s in self.args["symbols"])
        ]

    def _answer_for(self, ticker: str, answers: dict[str, dict[str, Any] | str]) -> dict[str, Any] | str | None:
        if self.result is None or isinstance(self.result, str):
            return self.result  # not answered yet, or the whole call refused
        if ticker in answers:
            return answers[ticker]
        return f"No answer for {ticker} in {self.result}"


@dataclass
class Reply:
    text: str
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class Conversation:
    """The current day as a strategy sees it: the run facts and the tool calls made since the day began."""

    def __init__(self, messages: Sequence[BaseMessage], tool_names: Sequence[str]) -> None:
        system = next((m for m in messages if isinstance(m, SystemMessage)), None)
        self.facts = read_run_facts(text_content(system)) if system else {}
        self.tool_names = set(tool_names)
        start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1) + 1
        day = list(messages[start:])
        answers = {m.tool_call_id: text_content(m) for m in day if isinstance(m, ToolMessage)}
        self.calls = [
            one
            for m in day
            if isinstance(m, AIMessage)
            for c in m.tool_calls
            for one in Call(
                c["name"], dict(c["args"]), tool_result(answers[c["id"]]) if c["id"] in answers else None
            ).per_symbol()
        ]
        self.turn = sum(1 for m in messages if isinstance(m, AIMessage))

    @property
    def first_day(self) -> bool:
        return self.facts.get("First trading day of this run", "").lower() == "yes"

    @property
    def intraday(self) -> bool:
        return self.facts.get("Mode", "").upper() == "INTRADAY"

    def tickers(self, portfolio: dict[str, Any] | None = None) -> list[str]:
        """The session symbol (intraday), else the allowed tickers of the prompt, else of the portfolio tool."""
        if self.intraday and self.facts.get("Session symbol"):
            return [self.facts["Session symbol"].upper()]
        listed = [t.strip().upper() for t in self.facts.get("Allowed tickers", "").split(",") if t.strip()]
        if not listed and portfolio:
            listed = [str(t).upper() for t in portfolio.get("allowed_tickers", [])]
        return listed

    def last(self, name: str, symbol: str | None = None) -> Call | None:
        found = [c for c in self.calls if c.name == name and (symbol is None or c.symbol == symbol)]
        return found[-1] if found else None

    def missing_tools(self, *names: str) -> list[str]:
        return [n for n in names if n not in self.tool_names]


def held_shares(portfolio: dict[str, Any]) -> dict[str, int]:
    return {str(s).upper(): int(n) for s, n in (portfolio.get("holdings") or {}).items() if int(n)}


def quote_price(quote: dict[str, Any]) -> Decimal | None:
    """The price an order is sized at: today's open (daily runs), else the last close (intraday)."""
    for key in ("open_today", "last_close"):
        if quote.get(key) is not None:
            return Decimal(quote[key])
    return None


def even_split(cash: Decimal, tickers: int, price: Decimal) -> int:
    """floor((cash / tickers) / price): whole shares of one ticker's even share of the cash."""
    if tickers <= 0 or price <= 0:
        return 0
    return int((Decimal(cash) / tickers / price).to_integral_value(rounding=ROUND_FLOOR))


def ask(name: str, tickers: Sequence[str], **args: Any) -> tuple[str, dict[str, Any]]:
    """One call of a tool for these tickers: `symbol` for one, `symbols` for several (one call, not one each)."""
    if len(tickers) == 1:
        return name, {"symbol": tickers[0], **args}
    return name, {"symbols": list(tickers), **args}


def trade_outcome(call: Call | None) -> str:
    if call is None or call.result is None:
        return "no answer from the trade tool"
    return call.result["result"] if isinstance(call.result, dict) else call.result


class LocalStrategyModel(ScriptedChatModel):
    """A deterministic strategy with the chat model interface; subclasses implement `decide`."""

    model_id: str = "local/strategy"

    def decide(self, conversation: Conversation) -> Reply:
        raise NotImplementedError

    def script(self, messages: list[BaseMessage]) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
        reply = self.decide(Conversation(messages, self.tool_names))
        return reply.text, reply.tool_calls


def _portfolio_or_reply(conversation: Conversation, *tools: str) -> dict[str, Any] | Reply:
    """The day's portfolio answer, or the reply to give first (ask for it, or explain why not)."""
    if missing := conversation.missing_tools("portfolio", *tools):
        return Reply(f"I cannot trade without the {', '.join(missing)} tools, so I hold.")
    call = conversation.last("portfolio")
    if call is None:
        return Reply("Checking the portfolio first.", [("portfolio", {})])
    if not isinstance(call.result, dict):
        return Reply(f"The portfolio is unavailable ({call.result}), so I hold.")
    return call.result


class BuyAndHoldModel(LocalStrategyModel):
    """On the run's first day, splits the cash evenly over the allowed tickers at the open; then holds."""

    model_id: str = "local/buy-and-hold"

    def decide(self, conversation: Conversation) -> Reply:
        portfolio = _portfolio_or_reply(conversation, "quote", "buy")
        if isinstance(portfolio, Reply):
            return portfolio
        cash, held = Decimal(portfolio["cash"]), held_shares(portfolio)
        if held:
            positions = ", ".join(f"{n} {s}" for s, n in sorted(held.items()))
            return Reply(
                f"Holding {positions} with {money(cash)} cash: buy-and-hold keeps what it bought on the "
                "first day and trades no more."
            )
        if not conversation.first_day:
            return Reply(f"Holding {money(cash)} cash: buy-and-hold buys only on the run's first trading day.")
        tickers = conversation.tickers(portfolio)
        if not tickers:
            return Reply("No allowed tickers to buy, so I hold the cash.")
        missing = [t for t in tickers if conversation.last("quote", t) is None]
        if missing:
            return Reply(
                f"First trading day: splitting {money(cash)} evenly over {', '.join(tickers)}. "
                "Getting the opening prices.",
                [ask("quote", missing)],
            )
        plan: list[str] = []
        orders: list[tuple[str, dict[str, Any]]] = []
        for ticker in tickers:
            quote = conversation.last("quote", ticker).result
            price = quote_price(quote) if isinstance(quote, dict) else None
            if price is None:
                plan.append(f"{ticker}: no price ({quote}), skipped.")
                continue
            shares = even_split(cash, len(tickers), price)
            if shares == 0:
                plan.append(f"{ticker}: {money(cash / len(tickers))} buys no whole share at {money(price)}, skipped.")
            elif conversation.last("buy", ticker) is None:
                orders.append(("buy", {"symbol": ticker, "amount": shares}))
            else:
                plan.append(f"{ticker}: {trade_outcome(conversation.last('buy', ticker))}")
        if orders:
            wanted = ", ".join(f"{o['amount']} {o['symbol']}" for _, o in orders)
            return Reply(f"Buying {wanted} at the open.", orders)
        return Reply(
            f"First trading day: split {money(cash)} evenly over {len(tickers)} "
            f"ticker{'s' if len(tickers) > 1 else ''}. " + " ".join(plan) + " From now on I hold."
        )


class MomentumModel(LocalStrategyModel):
    """Moving-average crossover: holds a ticker while its short average of closes is above the long one."""

    model_id: str = "local/momentum"
    short_window: int = SHORT_WINDOW
    long_window: int = LONG_WINDOW

    def decide(self, conversation: Conversation) -> Reply:
        tools = ("indicators", "quote", "buy", "sell")
        first = conversation.last("portfolio") is None and not conversation.missing_tools("portfolio", *tools)
        # When the prompt names the tickers, the portfolio, the signals and the prices are read in one turn.
        if first and (tickers := conversation.tickers()):
            return Reply(f"Checking the portfolio and {self._reading}", [("portfolio", {}), *self._reads(tickers)])
        portfolio = _portfolio_or_reply(conversation, *tools)
        if isinstance(portfolio, Reply):
            return portfolio
        cash, held = Decimal(portfolio["cash"]), held_shares(portfolio)
        tickers = conversation.tickers(portfolio)
        if not tickers:
            return Reply("No allowed tickers, so I hold.")
        unread = [t for t in tickers if conversation.last("indicators", t) is None]
        if unread:
            return Reply(f"Reading {self._reading}", self._reads(unread))

        calls: list[tuple[str, dict[str, Any]]] = []
        notes: list[str] = []
        for ticker in tickers:
            call, note = self._step(conversation, ticker, cash, len(tickers), held.get(ticker, 0))
            if call is not None:
                calls.append(call)
            notes.append(note)
        if calls:
            return Reply("Acting on the crossover signals.", self._in_order(calls))
        return Reply(" ".join(notes))

    @property
    def _reading(self) -> str:
        return f"the {self.short_window}- and {self.long_window}-bar moving averages and the prices."

    def _reads(self, tickers: list[str]) -> list[tuple[str, dict[str, Any]]]:
        """The signals and the opening prices of these tickers: one call of each tool."""
        windows = {"short_window": self.short_window, "long_window": self.long_window}
        return [ask("indicators", tickers, **windows), ask("quote", tickers)]

    @staticmethod
    def _in_order(calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
        """A turn's calls run at once: quotes asked together in one call, and sells before buys (a turn of
        their own), so that their proceeds are in the cash when the buys fill."""
        quotes = [args["symbol"] for name, args in calls if name == "quote"]
        others = [(name, args) for name, args in calls if name != "quote"]
        if any(name == "sell" for name, _ in others):
            others = [(name, args) for name, args in others if name != "buy"]
        return ([ask("quote", quotes)] if quotes else []) + others

    def _step(
        self, conversation: Conversation, ticker: str, cash: Decimal, tickers: int, held: int
    ) -> tuple[tuple[str, dict[str, Any]] | None, str]:
        """The next call for this ticker (or None) and the decision so far, in words."""
        signal = conversation.last("indicators", ticker).result
        if not isinstance(signal, dict):
            return None, f"{ticker}: hold, no signal yet ({signal})."
        short = Decimal(signal[f"sma_{self.short_window}"])
        long = Decimal(signal[f"sma_{self.long_window}"])
        averages = (
            f"the {self.short_window}-bar average {money(short)} is "
            f"{'above' if short > long else 'below' if short < long else 'equal to'} "
            f"the {self.long_window}-bar average {money(long)}"
        )
        if short < long and held:
            sold = conversation.last("sell", ticker)
            if sold is None:
                return ("sell", {"symbol": ticker, "amount": held}), ""
            return None, f"{ticker}: sell all {held}, {averages}. {trade_outcome(sold)}"
        if short > long and not held:
            quote = conversation.last("quote", ticker)
            if quote is None:
                return ("quote", {"symbol": ticker}), ""
            price = quote_price(quote.result) if isinstance(quote.result, dict) else None
            if price is None:
                return None, f"{ticker}: hold, {averages} but there is no price ({quote.result})."
            shares = even_split(cash, tickers, price)
            if shares == 0:
                return None, (
                    f"{ticker}: hold, {averages} but {money(cash / tickers)} buys no whole share at {money(price)}."
                )
            bought = conversation.last("buy", ticker)
            if bought is None:
                return ("buy", {"symbol": ticker, "amount": shares}), ""
            return None, f"{ticker}: buy {shares}, {averages}. {trade_outcome(bought)}"
        if held:
            return None, f"{ticker}: keep {held} shares, {averages}."
        return None, f"{ticker}: stay out, {averages}."


LOCAL_TRADING_MODELS: dict[str, type[LocalStrategyModel]] = {
    "local/buy-and-hold": BuyAndHoldModel,
    "local/momentum": MomentumModel,
}
