from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from db_models.market import CorporateActionKind


class Migration(migrations.Migration):
    dependencies = [("aibt", "0003_conversation_replies")]

    initial = False

    operations = [
        ops.CreateModel(
            name="CorporateAction",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("symbol", fields.CharField(max_length=16)),
                ("ex_date", fields.DateField()),
                (
                    "kind",
                    fields.CharEnumField(
                        description="SPLIT: SPLIT\nDIVIDEND: DIVIDEND", enum_type=CorporateActionKind, max_length=8
                    ),
                ),
                ("ratio", fields.DecimalField(null=True, max_digits=20, decimal_places=6)),
                ("amount", fields.DecimalField(null=True, max_digits=20, decimal_places=6)),
                ("source", fields.CharField(max_length=120)),
            ],
            options={
                "table": "corporate_actions",
                "app": "aibt",
                "unique_together": (("symbol", "ex_date", "kind"),),
                "indexes": [Index(fields=["symbol", "ex_date"])],
                "pk_attr": "id",
                "table_description": "A split or a cash dividend of one symbol, effective at the open of its ex-date.",
            },
            bases=["Model"],
        ),
    ]
