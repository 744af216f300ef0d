from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from db_models.runs import ActionType


class Migration(migrations.Migration):
    dependencies = [("aibt", "0005_profile_and_archive")]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name="Position",
            options={
                "table": "positions",
                "app": "aibt",
                "unique_together": (("run", "action_id"),),
                "indexes": [Index(fields=["run_id", "date"])],
                "pk_attr": "id",
                "table_description": "One action of a run (a trade, a no-trade step, a split or a dividend) and the portfolio right after it.",
            },
        ),
        ops.AlterField(
            model_name="Position",
            name="action",
            field=fields.CharEnumField(
                description="BUY: BUY\nSELL: SELL\nNO_TRADE: NO_TRADE\nSPLIT: SPLIT\nDIVIDEND: DIVIDEND",
                enum_type=ActionType,
                max_length=16,
            ),
        ),
        ops.AddField(
            model_name="Position",
            name="fee",
            field=fields.DecimalField(default=0, db_default=0, max_digits=20, decimal_places=6),
        ),
        ops.AddField(
            model_name="TradingModel",
            name="commission_bps",
            field=fields.DecimalField(default=0, db_default=0, max_digits=20, decimal_places=6),
        ),
        ops.AddField(
            model_name="TradingModel",
            name="commission_fixed",
            field=fields.DecimalField(default=0, db_default=0, max_digits=20, decimal_places=6),
        ),
        ops.AddField(
            model_name="TradingModel",
            name="commission_minimum",
            field=fields.DecimalField(default=0, db_default=0, max_digits=20, decimal_places=6),
        ),
        ops.AddField(
            model_name="TradingModel",
            name="max_position_weight",
            field=fields.DecimalField(null=True, max_digits=20, decimal_places=6),
        ),
        ops.AddField(
            model_name="TradingModel",
            name="slippage_bps",
            field=fields.DecimalField(default=0, db_default=0, max_digits=20, decimal_places=6),
        ),
    ]
