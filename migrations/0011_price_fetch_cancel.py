from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from db_models.price_fetches import FetchJobStatus


class Migration(migrations.Migration):
    dependencies = [("aibt", "0010_price_fetch_active_slot")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="PriceFetchJob",
            name="status",
            field=fields.CharEnumField(
                default=FetchJobStatus.QUEUED,
                description="QUEUED: QUEUED\nRUNNING: RUNNING\nCOMPLETED: COMPLETED\nFAILED: FAILED\nCANCELLED: CANCELLED",
                enum_type=FetchJobStatus,
                max_length=16,
            ),
        ),
        ops.AddField(
            model_name="PriceFetchJob",
            name="cancel_requested",
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
