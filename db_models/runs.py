"""Runs of a trading model and what they produce: positions, reasoning logs, the equity curve, the baselines."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from db_models.market import PriceInterval
from db_models.trading import MONEY


class RunStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
DEFAULT_MAX_STEPS = 30  # agent steps (LLM turns) per trading step when a run does not say


class TradingMode(StrEnum):
    DAILY = "DAILY"
    INTRADAY = "INTRADAY"


class IntradaySession(StrEnum):
    REGULAR = "REGULAR"
    PRE = "PRE"
    AFTER = "AFTER"


class ActionType(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    NO_TRADE = "NO_TRADE"
    SPLIT = "SPLIT"  # a split applied at the ex-date's open: amount = shares before, price = ratio
    DIVIDEND = "DIVIDEND"  # a cash dividend at the ex-date's open: amount = shares held, price = cash per share


TRADE_ACTIONS = (ActionType.BUY, ActionType.SELL)
CORPORATE_ACTIONS = (ActionType.SPLIT, ActionType.DIVIDEND)


class Run(Model):
    id = fields.IntField(primary_key=True)
    model = fields.ForeignKeyField("aibt.TradingModel", related_name="runs", on_delete=fields.CASCADE)
    run_number = fields.IntField()
    mode = fields.CharEnumField(TradingMode, max_length=16)
    status = fields.CharEnumField(RunStatus, max_length=16, default=RunStatus.QUEUED)
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    strategy_snapshot = fields.JSONField(default=dict)
    start_date = fields.DateField(null=True)
    end_date = fields.DateField(null=True)
    max_steps = fields.IntField(default=DEFAULT_MAX_STEPS)
    symbol = fields.CharField(max_length=16, null=True)
    date = fields.DateField(null=True)
    session = fields.CharEnumField(IntradaySession, max_length=16, null=True)
    # The simulated now, owned by the worker: the current bar's start (daily: day D's bar, whose
    # open is visible and fills orders; intraday: decision bar t, complete, orders fill at t+1's open).
    clock_at = fields.DatetimeField(null=True)
    # The bars the run steps through: DAY for daily runs, HOUR or MINUTE for intraday sessions.
    bar_interval = fields.CharEnumField(PriceInterval, max_length=8, default=PriceInterval.DAY)
    progress_current = fields.IntField(default=0)
    progress_total = fields.IntField(default=0)
    progress_message = fields.TextField(null=True)
    progress_date = fields.DateField(null=True)
    error = fields.TextField(null=True)
    total_trades = fields.IntField(default=0)
    final_return = fields.FloatField(null=True)
    final_portfolio_value = fields.DecimalField(null=True, **MONEY)
    max_drawdown = fields.FloatField(null=True)
    llm_calls = fields.IntField(default=0)
    input_tokens = fields.BigIntField(default=0)
    output_tokens = fields.BigIntField(default=0)
    # Worker bookkeeping: which attempt this is, who holds it, and when it last showed life.
    attempts = fields.IntField(default=0)
    worker_id = fields.CharField(max_length=120, null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    cancel_requested = fields.BooleanField(default=False)
    # The agent had tools of external MCP servers, which are not bound to the run's clock (see the snapshot).
    used_external_tools = fields.BooleanField(default=False, db_default=False)
    # The index the run is measured against besides its own buy-and-hold (None: no index), fixed at start.
    benchmark_symbol = fields.CharField(max_length=16, null=True)
    # The arena the run competes in, and whether its final event is on the arena's stream yet: the arena
    # ends once every member's is (see tasks/arena_events.py).
    arena = fields.ForeignKeyField("aibt.Arena", related_name="runs", null=True, on_delete=fields.CASCADE)
    arena_end_announced = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "runs"
        unique_together = (("model", "run_number"),)
        indexes = (("model_id", "status"), ("status", "heartbeat_at"))


class Position(Model):
    """One action of a run (a trade, a no-trade step, a split or a dividend) and the portfolio right after it.

    A trade's price is its fill after slippage and its fee the commission paid in cash."""

    id = fields.IntField(primary_key=True)
    run = fields.ForeignKeyField("aibt.Run", related_name="positions", on_delete=fields.CASCADE)
    action_id = fields.IntField()
    date = fields.DateField()
    timestamp = fields.DatetimeField()
    action = fields.CharEnumField(ActionType, max_length=16)
    symbol = fields.CharField(max_length=16, null=True)
    amount = fields.IntField(null=True)
    price = fields.DecimalField(null=True, **MONEY)
    holdings = fields.JSONField(default=dict)
    cash = fields.DecimalField(**MONEY)
    fee = fields.DecimalField(default=0, db_default=0, **MONEY)

    class Meta:
        table = "positions"
        unique_together = (("run", "action_id"),)
        indexes = (("run_id", "date"),)


class ReasoningLog(Model):
    """The agent's message history for one step (a trading day or a decision bar)."""

    id = fields.IntField(primary_key=True)
    run = fields.ForeignKeyField("aibt.Run", related_name="logs", on_delete=fields.CASCADE)
    date = fields.DateField()
    timestamp = fields.DatetimeField()
    messages = fields.JSONField(default=list)

    class Meta:
        table = "reasoning_logs"
        unique_together = (("run", "timestamp"),)
        indexes = (("run_id", "date"),)


class EquityPoint(Model):
    """Portfolio value at one close: a day's close (daily) or a bar's close (intraday)."""

    id = fields.IntField(primary_key=True)
    run = fields.ForeignKeyField("aibt.Run", related_name="equity_points", on_delete=fields.CASCADE)
    date = fields.DateField()
    timestamp = fields.DatetimeField()
    value = fields.DecimalField(**MONEY)
    cash = fields.DecimalField(**MONEY)

    class Meta:
        table = "equity_points"
        unique_together = (("run", "timestamp"),)


class BenchmarkKind(StrEnum):
    BUY_AND_HOLD = "BUY_AND_HOLD"
    INDEX = "INDEX"


class BenchmarkCurve(Model):
    """A finished run's (or arena's) baseline curve at the run's own closes, from which its figures are made.

    Written once when the run ends; a live run's baselines are computed from the stored prices on read."""

    id = fields.IntField(primary_key=True)
    run = fields.ForeignKeyField("aibt.Run", related_name="benchmark_curves", null=True, on_delete=fields.CASCADE)
    arena = fields.ForeignKeyField("aibt.Arena", related_name="benchmark_curves", null=True, on_delete=fields.CASCADE)
    kind = fields.CharEnumField(BenchmarkKind, max_length=16)
    symbols = fields.JSONField(default=list)
    label = fields.CharField(max_length=200)
    initial_value = fields.DecimalField(**MONEY)
    purchases = fields.IntField(default=0)  # symbols bought (each once): the baseline's trades
    dividends = fields.DecimalField(default=0, **MONEY)  # the cash its dividends paid
    # [[timestamp, date, value, cash], ...] oldest first: ISO strings and decimal strings.
    points = fields.JSONField(default=list)

    class Meta:
        table = "benchmark_curves"
        unique_together = (("run", "kind"), ("arena", "kind"))
