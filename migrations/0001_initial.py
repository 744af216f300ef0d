from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from db_models.accounts import Role
from db_models.chat import MessageRole
from db_models.market import PriceInterval
from db_models.runs import ActionType, IntradaySession, RunStatus, TradingMode


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="GlobalChatSettings",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("chat_model", fields.CharField(null=True, max_length=120)),
                ("instructions", fields.TextField(null=True, unique=False)),
                ("parameters", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("updated_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "global_chat_settings",
                "app": "aibt",
                "pk_attr": "id",
                "table_description": "A single row (id 1): the chat AI every user talks to, when an admin has chosen one.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PriceBar",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("symbol", fields.CharField(max_length=16)),
                (
                    "interval",
                    fields.CharEnumField(
                        description="DAY: DAY\nHOUR: HOUR\nMINUTE: MINUTE", enum_type=PriceInterval, max_length=8
                    ),
                ),
                ("timestamp", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("trade_date", fields.DateField()),
                ("timezone", fields.CharField(default="America/New_York", max_length=64)),
                ("open", fields.DecimalField(max_digits=20, decimal_places=6)),
                ("high", fields.DecimalField(null=True, max_digits=20, decimal_places=6)),
                ("low", fields.DecimalField(null=True, max_digits=20, decimal_places=6)),
                ("close", fields.DecimalField(null=True, max_digits=20, decimal_places=6)),
                ("volume", fields.FloatField(null=True)),
                ("source", fields.CharField(max_length=120)),
            ],
            options={
                "table": "price_bars",
                "app": "aibt",
                "unique_together": (("symbol", "interval", "timestamp"),),
                "indexes": [Index(fields=["interval", "symbol", "trade_date"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="User",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("email", fields.CharField(unique=True, max_length=254)),
                ("password_hash", fields.CharField(max_length=255)),
                (
                    "role",
                    fields.CharEnumField(
                        default=Role.USER, description="USER: USER\nADMIN: ADMIN", enum_type=Role, max_length=16
                    ),
                ),
                ("display_name", fields.CharField(null=True, max_length=100)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "users", "app": "aibt", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RevokedToken",
            fields=[
                ("jti", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "aibt.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="revoked_tokens",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("expires_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "revoked_tokens",
                "app": "aibt",
                "pk_attr": "jti",
                "table_description": "A JWT revoked by logout, kept until it would have expired anyway.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="TradingModel",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "owner",
                    fields.ForeignKeyField(
                        "aibt.User",
                        source_field="owner_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="trading_models",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=100)),
                ("signature", fields.CharField(max_length=120)),
                ("description", fields.TextField(null=True, unique=False)),
                ("is_active", fields.BooleanField(default=True)),
                ("allowed_tickers", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("initial_cash", fields.DecimalField(max_digits=20, decimal_places=6)),
                ("ai_model", fields.CharField(max_length=120)),
                ("parameters", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("custom_rules", fields.TextField(null=True, unique=False)),
                ("custom_instructions", fields.TextField(null=True, unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "trading_models",
                "app": "aibt",
                "unique_together": (("owner", "signature"),),
                "indexes": [Index(fields=["owner_id", "id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Run",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "model",
                    fields.ForeignKeyField(
                        "aibt.TradingModel",
                        source_field="model_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="runs",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("run_number", fields.IntField()),
                (
                    "mode",
                    fields.CharEnumField(
                        description="DAILY: DAILY\nINTRADAY: INTRADAY", enum_type=TradingMode, max_length=16
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=RunStatus.QUEUED,
                        description="QUEUED: QUEUED\nRUNNING: RUNNING\nCOMPLETED: COMPLETED\nFAILED: FAILED\nCANCELLED: CANCELLED",
                        enum_type=RunStatus,
                        max_length=16,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("strategy_snapshot", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("start_date", fields.DateField(null=True)),
                ("end_date", fields.DateField(null=True)),
                ("max_steps", fields.IntField(default=30)),
                ("symbol", fields.CharField(null=True, max_length=16)),
                ("date", fields.DateField(null=True)),
                (
                    "session",
                    fields.CharEnumField(
                        null=True,
                        description="REGULAR: REGULAR\nPRE: PRE\nAFTER: AFTER",
                        enum_type=IntradaySession,
                        max_length=16,
                    ),
                ),
                ("progress_current", fields.IntField(default=0)),
                ("progress_total", fields.IntField(default=0)),
                ("progress_message", fields.TextField(null=True, unique=False)),
                ("progress_date", fields.DateField(null=True)),
                ("error", fields.TextField(null=True, unique=False)),
                ("total_trades", fields.IntField(default=0)),
                ("final_return", fields.FloatField(null=True)),
                ("final_portfolio_value", fields.DecimalField(null=True, max_digits=20, decimal_places=6)),
                ("max_drawdown", fields.FloatField(null=True)),
                ("llm_calls", fields.IntField(default=0)),
                ("input_tokens", fields.BigIntField(default=0)),
                ("output_tokens", fields.BigIntField(default=0)),
                ("attempts", fields.IntField(default=0)),
                ("worker_id", fields.CharField(null=True, max_length=120)),
                ("heartbeat_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("cancel_requested", fields.BooleanField(default=False)),
            ],
            options={
                "table": "runs",
                "app": "aibt",
                "unique_together": (("model", "run_number"),),
                "indexes": [Index(fields=["model_id", "status"]), Index(fields=["status", "heartbeat_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Conversation",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "aibt.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="conversations",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "model",
                    fields.ForeignKeyField(
                        "aibt.TradingModel",
                        source_field="model_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="conversations",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "run",
                    fields.ForeignKeyField(
                        "aibt.Run",
                        source_field="run_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="conversations",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("title", fields.CharField(default="New conversation", max_length=200)),
                ("is_active", fields.BooleanField(default=True)),
                ("summary", fields.TextField(null=True, unique=False)),
                ("summarized_through_id", fields.IntField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "conversations",
                "app": "aibt",
                "indexes": [Index(fields=["user_id", "model_id", "updated_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ChatMessage",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "conversation",
                    fields.ForeignKeyField(
                        "aibt.Conversation",
                        source_field="conversation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="messages",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "role",
                    fields.CharEnumField(
                        description="USER: USER\nASSISTANT: ASSISTANT\nSYSTEM: SYSTEM",
                        enum_type=MessageRole,
                        max_length=16,
                    ),
                ),
                ("content", fields.TextField(unique=False)),
                ("tool_calls", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ("cut_short", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "chat_messages",
                "app": "aibt",
                "indexes": [Index(fields=["conversation_id", "id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="EquityPoint",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "run",
                    fields.ForeignKeyField(
                        "aibt.Run",
                        source_field="run_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="equity_points",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("date", fields.DateField()),
                ("timestamp", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("value", fields.DecimalField(max_digits=20, decimal_places=6)),
                ("cash", fields.DecimalField(max_digits=20, decimal_places=6)),
            ],
            options={
                "table": "equity_points",
                "app": "aibt",
                "unique_together": (("run", "timestamp"),),
                "pk_attr": "id",
                "table_description": "Portfolio value at one close: a day's close (daily) or a bar's close (intraday).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Position",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "run",
                    fields.ForeignKeyField(
                        "aibt.Run",
                        source_field="run_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="positions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("action_id", fields.IntField()),
                ("date", fields.DateField()),
                ("timestamp", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "action",
                    fields.CharEnumField(
                        description="BUY: BUY\nSELL: SELL\nNO_TRADE: NO_TRADE", enum_type=ActionType, max_length=16
                    ),
                ),
                ("symbol", fields.CharField(null=True, max_length=16)),
                ("amount", fields.IntField(null=True)),
                ("price", fields.DecimalField(null=True, max_digits=20, decimal_places=6)),
                ("holdings", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("cash", fields.DecimalField(max_digits=20, decimal_places=6)),
            ],
            options={
                "table": "positions",
                "app": "aibt",
                "unique_together": (("run", "action_id"),),
                "indexes": [Index(fields=["run_id", "date"])],
                "pk_attr": "id",
                "table_description": "One action of a run (a trade or a no-trade step) and the portfolio right after it.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ReasoningLog",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "run",
                    fields.ForeignKeyField(
                        "aibt.Run",
                        source_field="run_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="logs",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("date", fields.DateField()),
                ("timestamp", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("messages", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={
                "table": "reasoning_logs",
                "app": "aibt",
                "unique_together": (("run", "timestamp"),),
                "indexes": [Index(fields=["run_id", "date"])],
                "pk_attr": "id",
                "table_description": "The agent's message history for one step (a trading day or a decision bar).",
            },
            bases=["Model"],
        ),
    ]
