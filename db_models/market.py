"""Price bars, with their interval, exchange time zone and source."""

import re
from enum import StrEnum
from zoneinfo import ZoneInfo

from tortoise import fields
from tortoise.models import Model

PRICE = {"max_digits": 20, "decimal_places": 6}
# The exchange's time zone: trade dates, the daily bar's 09:30 start and session hours are its local time.
EXCHANGE_TIMEZONE = "America/New_York"
EXCHANGE_TZ = ZoneInfo(EXCHANGE_TIMEZONE)
# A well-formed ticker: AAPL, BRK.B, RDS-A.
TICKER_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{0,9}(?:[.\-][A-Z0-9]{1,4})?$")


class PriceInterval(StrEnum):
    DAY = "DAY"
    HOUR = "HOUR"
    MINUTE = "MINUTE"


class PriceBar(Model):
    id = fields.BigIntField(primary_key=True)
    symbol = fields.CharField(max_length=16)
    interval = fields.CharEnumField(PriceInterval, max_length=8)
    # The bar's start, stored in UTC; trade_date is its date in the exchange's time zone.
    timestamp = fields.DatetimeField()
    trade_date = fields.DateField()
    timezone = fields.CharField(max_length=64, default=EXCHANGE_TIMEZONE)
    open = fields.DecimalField(**PRICE)
    high = fields.DecimalField(null=True, **PRICE)
    low = fields.DecimalField(null=True, **PRICE)
    close = fields.DecimalField(null=True, **PRICE)
    volume = fields.FloatField(null=True)
    source = fields.CharField(max_length=120)

    class Meta:
        table = "price_bars"
        unique_together = (("symbol", "interval", "timestamp"),)
        indexes = (("interval", "symbol", "trade_date"),)


class CorporateActionKind(StrEnum):
    SPLIT = "SPLIT"
    DIVIDEND = "DIVIDEND"


class CorporateAction(Model):
    """A split or a cash dividend of one symbol, effective at the open of its ex-date.

    A split has a ratio (new shares per old share: 2 for a 2-for-1 split, 0.1 for a 1-for-10 reverse
    split); a dividend has an amount of cash per share held before the ex-date's open.
    """

    id = fields.BigIntField(primary_key=True)
    symbol = fields.CharField(max_length=16)
    ex_date = fields.DateField()
    kind = fields.CharEnumField(CorporateActionKind, max_length=8)
    ratio = fields.DecimalField(null=True, **PRICE)
    amount = fields.DecimalField(null=True, **PRICE)
    source = fields.CharField(max_length=120)

    class Meta:
        table = "corporate_actions"
        unique_together = (("symbol", "ex_date", "kind"),)
        indexes = (("symbol", "ex_date"),)
