from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from db_models.runs import BenchmarkKind


class Migration(migrations.Migration):
    dependencies = [("aibt", "0008_extra_tools")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Arena",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "owner",
                    fields.ForeignKeyField(
                        "aibt.User",
                        source_field="owner_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="arenas",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=100)),
                ("start_date", fields.DateField()),
                ("end_date", fields.DateField()),
                ("max_steps", fields.IntField(default=30)),
                ("benchmark_symbol", fields.CharField(null=True, max_length=16)),
                ("tickers", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("initial_cash", fields.DecimalField(max_digits=20, decimal_places=6)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "arenas", "app": "aibt", "indexes": [Index(fields=["owner_id", "id"])], "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="BenchmarkCurve",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "run",
                    fields.ForeignKeyField(
                        "aibt.Run",
                        source_field="run_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="benchmark_curves",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "arena",
                    fields.ForeignKeyField(
                        "aibt.Arena",
                        source_field="arena_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="benchmark_curves",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="BUY_AND_HOLD: BUY_AND_HOLD\nINDEX: INDEX", enum_type=BenchmarkKind, max_length=16
                    ),
                ),
                ("symbols", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("label", fields.CharField(max_length=200)),
                ("initial_value", fields.DecimalField(max_digits=20, decimal_places=6)),
                ("purchases", fields.IntField(default=0)),
                ("dividends", fields.DecimalField(default=0, max_digits=20, decimal_places=6)),
                ("points", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={
                "table": "benchmark_curves",
                "app": "aibt",
                "unique_together": (("run", "kind"), ("arena", "kind")),
                "pk_attr": "id",
                "table_description": "A finished run's (or arena's) baseline curve at the run's own closes, from which its figures are made.",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Run",
            name="arena",
            field=fields.ForeignKeyField(
                "aibt.Arena",
                source_field="arena_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="runs",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AddField(
            model_name="Run",
            name="arena_end_announced",
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name="Run",
            name="benchmark_symbol",
            field=fields.CharField(null=True, max_length=16),
        ),
    ]
