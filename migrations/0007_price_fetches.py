from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from db_models.market import PriceInterval
from db_models.price_fetches import FetchJobStatus


class Migration(migrations.Migration):
    dependencies = [("aibt", "0006_trading_costs")]

    initial = False

    operations = [
        ops.CreateModel(
            name="PriceFetchCoverage",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("symbol", fields.CharField(max_length=16)),
                (
                    "interval",
                    fields.CharEnumField(
                        description="DAY: DAY\nHOUR: HOUR\nMINUTE: MINUTE", enum_type=PriceInterval, max_length=8
                    ),
                ),
                ("first_date", fields.DateField()),
                ("last_date", fields.DateField()),
                ("provider", fields.CharField(max_length=32)),
                ("fetched_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "price_fetch_coverage",
                "app": "aibt",
                "indexes": [Index(fields=["symbol", "interval", "first_date"])],
                "pk_attr": "id",
                "table_description": "Sessions of a symbol that a provider has answered for, from first_date to last_date.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PriceFetchJob",
            fields=[
                ("id", fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "requested_by",
                    fields.ForeignKeyField(
                        "aibt.User",
                        source_field="requested_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="price_fetch_jobs",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("symbols", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                (
                    "interval",
                    fields.CharEnumField(
                        default=PriceInterval.DAY,
                        description="DAY: DAY\nHOUR: HOUR\nMINUTE: MINUTE",
                        enum_type=PriceInterval,
                        max_length=8,
                    ),
                ),
                ("start_date", fields.DateField(null=True)),
                ("end_date", fields.DateField(null=True)),
                ("with_actions", fields.BooleanField(default=True)),
                (
                    "status",
                    fields.CharEnumField(
                        default=FetchJobStatus.QUEUED,
                        description="QUEUED: QUEUED\nRUNNING: RUNNING\nCOMPLETED: COMPLETED\nFAILED: FAILED",
                        enum_type=FetchJobStatus,
                        max_length=16,
                    ),
                ),
                ("progress_current", fields.IntField(default=0)),
                ("progress_total", fields.IntField(default=0)),
                ("progress_message", fields.TextField(null=True, unique=False)),
                ("results", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("error", fields.TextField(null=True, unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("attempts", fields.IntField(default=0)),
                ("worker_id", fields.CharField(null=True, max_length=120)),
                ("heartbeat_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "price_fetch_jobs",
                "app": "aibt",
                "pk_attr": "id",
                "table_description": "An admin's request to fetch prices, run by a worker.",
            },
            bases=["Model"],
        ),
    ]
