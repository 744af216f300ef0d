"""Trading models: a user's LLM, its parameters, tickers, cash and rules."""

from tortoise import fields
from tortoise.fields.db_defaults import SqlDefault
from tortoise.models import Model

MONEY = {"max_digits": 20, "decimal_places": 6}


class TradingModel(Model):
    id = fields.IntField(primary_key=True)
    owner = fields.ForeignKeyField("aibt.User", related_name="trading_models", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=100)
    signature = fields.CharField(max_length=120)
    description = fields.TextField(null=True)
    is_active = fields.BooleanField(default=True)
    allowed_tickers = fields.JSONField(default=list)
    initial_cash = fields.DecimalField(**MONEY)
    ai_model = fields.CharField(max_length=120)
    parameters = fields.JSONField(default=dict)
    custom_rules = fields.TextField(null=True)
    custom_instructions = fields.TextField(null=True)
    # Names of external MCP servers (AIBT_EXTRA_MCP_SERVERS) whose tools this model's runs may call.
    extra_tools = fields.JSONField(default=list, db_default=SqlDefault("'[]'"))
    # Trading costs (db_models/costs.py): zero and no cap by default.
    commission_fixed = fields.DecimalField(default=0, db_default=0, **MONEY)
    commission_bps = fields.DecimalField(default=0, db_default=0, **MONEY)
    commission_minimum = fields.DecimalField(default=0, db_default=0, **MONEY)
    slippage_bps = fields.DecimalField(default=0, db_default=0, **MONEY)
    max_position_weight = fields.DecimalField(null=True, **MONEY)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "trading_models"
        unique_together = (("owner", "signature"),)
        indexes = (("owner_id", "id"),)
