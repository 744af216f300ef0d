from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.fields.db_defaults import SqlDefault
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("aibt", "0007_price_fetches")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Run",
            name="used_external_tools",
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name="TradingModel",
            name="extra_tools",
            field=fields.JSONField(default=list, db_default=SqlDefault("'[]'"), encoder=JSON_DUMPS, decoder=loads),
        ),
    ]
