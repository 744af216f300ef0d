from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("aibt", "0009_arenas_and_benchmarks")]

    initial = False

    operations = [
        ops.AddField(
            model_name="PriceFetchJob",
            name="active_slot",
            field=fields.BooleanField(null=True, unique=True),
        ),
    ]
