"""The trading-day graph: one day (or intraday decision bar) of a run, as the worker drives it."""

from agents.trading.graph import build_trading_graph, run_trading_day
from agents.trading.state import DayContext, DayResult

__all__ = ["DayContext", "DayResult", "build_trading_graph", "run_trading_day"]
