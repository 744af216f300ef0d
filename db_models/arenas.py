"""Arenas: several of a user's models run over the same days, followed and ranked together."""

from collections.abc import Iterable
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from db_models.runs import ACTIVE_STATUSES, DEFAULT_MAX_STEPS, RunStatus
from db_models.trading import MONEY

MIN_ARENA_MODELS, MAX_ARENA_MODELS = 2, 20  # models, each run once


class Arena(Model):
    id = fields.IntField(primary_key=True)
    owner = fields.ForeignKeyField("aibt.User", related_name="arenas", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=100)
    start_date = fields.DateField()
    end_date = fields.DateField()
    max_steps = fields.IntField(default=DEFAULT_MAX_STEPS)
    benchmark_symbol = fields.CharField(max_length=16, null=True)
    # The arena's buy-and-hold baseline, fixed at start: every member's tickers, from the first member's cash.
    tickers = fields.JSONField(default=list)
    initial_cash = fields.DecimalField(**MONEY)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Set once, by whoever announces that the last member run has ended.
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "arenas"
        indexes = (("owner_id", "id"),)


class ArenaStatus(StrEnum):
    QUEUED = "QUEUED"  # no member has started
    RUNNING = "RUNNING"  # some member is queued or running, and some has started or ended
    COMPLETED = "COMPLETED"  # every member completed (or none is left)
    FAILED = "FAILED"  # every member ended, some failed, none was cancelled
    CANCELLED = "CANCELLED"  # every member ended, some was cancelled


def arena_status(statuses: Iterable[RunStatus | str]) -> ArenaStatus:
    """An arena's status from its members' statuses."""
    found = {RunStatus(s) for s in statuses}
    if found & set(ACTIVE_STATUSES):
        return ArenaStatus.QUEUED if found == {RunStatus.QUEUED} else ArenaStatus.RUNNING
    if RunStatus.CANCELLED in found:
        return ArenaStatus.CANCELLED
    if RunStatus.FAILED in found:
        return ArenaStatus.FAILED
    return ArenaStatus.COMPLETED
