from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("aibt", "0002_run_clock")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Conversation",
            name="cancel_reply_requested",
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name="Conversation",
            name="reply_started_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
