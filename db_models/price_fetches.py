"""What price fetches leave behind: the sessions a provider has answered for, and the admins' fetch jobs."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from db_models.market import PriceInterval


class PriceFetchCoverage(Model):
    """Sessions of a symbol that a provider has answered for, from first_date to last_date.

    A session in here without a bar has none at the provider (before a listing, a halted day), so a later
    fetch does not ask for it again.
    """

    id = fields.BigIntField(primary_key=True)
    symbol = fields.CharField(max_length=16)
    interval = fields.CharEnumField(PriceInterval, max_length=8)
    first_date = fields.DateField()
    last_date = fields.DateField()
    provider = fields.CharField(max_length=32)
    fetched_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "price_fetch_coverage"
        indexes = (("symbol", "interval", "first_date"),)


class FetchJobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


ACTIVE_FETCH_STATUSES = (FetchJobStatus.QUEUED, FetchJobStatus.RUNNING)


class PriceFetchJob(Model):
    """An admin's request to fetch prices, run by a worker.

    The results hold one entry per finished symbol, in the order the symbols were fetched.
    """

    id = fields.IntField(primary_key=True)
    requested_by = fields.ForeignKeyField(
        "aibt.User", related_name="price_fetch_jobs", null=True, on_delete=fields.SET_NULL
    )
    symbols = fields.JSONField(default=list)
    interval = fields.CharEnumField(PriceInterval, max_length=8, default=PriceInterval.DAY)
    start_date = fields.DateField(null=True)
    end_date = fields.DateField(null=True)
    with_actions = fields.BooleanField(default=True)  # splits and dividends too
    status = fields.CharEnumField(FetchJobStatus, max_length=16, default=FetchJobStatus.QUEUED)
    # True from its creation by fetchPrices until it ends, then null: the unique index admits one such job at a
    # time, however many requests (or API replicas) start one at the same moment.
    active_slot = fields.BooleanField(null=True, unique=True)
    # Symbols finished (fetched, up to date or failed) of all symbols, and what is being done now.
    progress_current = fields.IntField(default=0)
    progress_total = fields.IntField(default=0)
    progress_message = fields.TextField(null=True)
    results = fields.JSONField(default=list)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    # Worker bookkeeping, as for runs: a RUNNING job whose worker stops showing life is resumed elsewhere.
    attempts = fields.IntField(default=0)
    worker_id = fields.CharField(max_length=120, null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    # Set by cancelPriceFetch: the worker holding the job stops at its next call to the provider.
    cancel_requested = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "price_fetch_jobs"
