from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("aibt", "0004_corporate_actions")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Conversation",
            name="archived",
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name="User",
            name="avatar_url",
            field=fields.CharField(null=True, max_length=500),
        ),
        ops.AddField(
            model_name="User",
            name="token_version",
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
