from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from db_models.market import PriceInterval


class Migration(migrations.Migration):
    dependencies = [("aibt", "0001_initial")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Run",
            name="bar_interval",
            field=fields.CharEnumField(
                default=PriceInterval.DAY,
                description="DAY: DAY\nHOUR: HOUR\nMINUTE: MINUTE",
                enum_type=PriceInterval,
                max_length=8,
            ),
        ),
        ops.AddField(
            model_name="Run",
            name="clock_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
