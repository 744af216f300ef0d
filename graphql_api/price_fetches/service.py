"""Starting, cancelling and finding price fetch jobs; the resolvers check that the caller is an admin first."""

from __future__ import annotations

import contextlib
import datetime as dt

from redis.exceptions import RedisError
from tortoise.exceptions import IntegrityError

from db_models.accounts import User
from db_models.market import PriceInterval
from db_models.price_bars import clean_symbol
from db_models.price_fetch.universes import get_universe
from db_models.price_fetches import ACTIVE_FETCH_STATUSES, FetchJobStatus, PriceFetchJob
from db_models.settings import Settings
from graphql_api.errors import BadUserInput, Conflict, Unavailable
from graphql_api.ids import find_by_global_id
from graphql_api.price_fetches.types import FetchPricesInput
from graphql_api.services import Services
from tasks.price_fetch_events import PriceFetchEventKind, publish_fetch_event
from tasks.price_fetch_jobs import CANCELLED_UNHELD, finish_fetch_job

MAX_SYMBOLS = 1_000


async def get_job(job_id: str) -> PriceFetchJob:
    return await find_by_global_id(PriceFetchJob, "PriceFetchJob", job_id, kind="price fetch job")


def chosen_symbols(data: FetchPricesInput) -> list[str]:
    chosen: list[str] = []
    if data.universe is not None:
        try:
            chosen.extend(get_universe(data.universe).symbols)
        except ValueError as exc:
            raise BadUserInput(f"universe: {exc}.", field="universe") from None
    for raw in data.symbols:
        try:
            chosen.append(clean_symbol(raw))
        except ValueError as exc:
            raise BadUserInput(f"symbols: {exc}.", field="symbols") from None
    unique = list(dict.fromkeys(chosen))
    if not unique:
        raise BadUserInput("Name at least one symbol, or a universe.", field="symbols")
    if len(unique) > MAX_SYMBOLS:
        raise BadUserInput(f"At most {MAX_SYMBOLS:,} symbols per fetch; got {len(unique):,}.", field="symbols")
    return unique


async def start_fetch(services: Services, settings: Settings, admin: User, data: FetchPricesInput) -> PriceFetchJob:
    """Creates the QUEUED job and hands it to a worker; returns at once."""
    symbols = chosen_symbols(data)
    if data.from_ and data.to and data.from_ > data.to:
        raise BadUserInput("from must not be after to.", field="from")
    if not settings.alphavantage_api_key:
        raise Unavailable("Fetching prices needs ALPHAVANTAGE_API_KEY in the server's environment, and it is not set.")
    active = await PriceFetchJob.filter(status__in=ACTIVE_FETCH_STATUSES).order_by("id").first()
    if active is not None:
        raise Conflict(f"A price fetch is already {active.status.value.lower()}; wait for it to finish.")
    try:
        job = await PriceFetchJob.create(
            requested_by=admin,
            symbols=symbols,
            interval=PriceInterval(data.interval),
            start_date=data.from_,
            end_date=data.to,
            with_actions=data.actions,
            progress_total=len(symbols),
            active_slot=True,
        )
    except IntegrityError:  # another request started one since the check above
        raise Conflict("A price fetch was started at the same moment; wait for it to finish.") from None
    return await _hand_over(services, job)


async def cancel_fetch(services: Services, job_id: str) -> PriceFetchJob:
    """Asks the job to stop: one no worker holds (queued, or its worker lost) ends CANCELLED here and now,
    freeing the slot for the next fetch; a running one stops at its next call to the provider."""
    job = await get_job(job_id)
    if job.status not in ACTIVE_FETCH_STATUSES:
        raise Conflict(f"This price fetch is already {job.status.value.lower()}.")
    await PriceFetchJob.filter(id=job.id, status__in=ACTIVE_FETCH_STATUSES).update(cancel_requested=True)
    # The same condition a worker claims it under: of the two updates, one wins.
    ended = await PriceFetchJob.filter(id=job.id, status__in=ACTIVE_FETCH_STATUSES, worker_id__isnull=True).update(
        status=FetchJobStatus.CANCELLED, ended_at=dt.datetime.now(dt.UTC), active_slot=None
    )
    await job.refresh_from_db()
    if ended:
        message = "Cancelled before it started." if job.started_at is None else CANCELLED_UNHELD
        await publish_fetch_event(services.require_bus(), job, PriceFetchEventKind.CANCELLED, message=message)
    return job


async def _hand_over(services: Services, job: PriceFetchJob) -> PriceFetchJob:
    """Announces the committed job and queues it; if Redis cannot take it, the job fails at once."""
    bus = services.require_bus()
    try:
        await publish_fetch_event(bus, job, PriceFetchEventKind.QUEUED)
        await services.require_dispatcher().enqueue_fetch_job(job.id)
    except (RedisError, OSError) as exc:
        reason = "The fetch could not be handed to a worker: the job queue is unavailable. Start it again shortly."
        with contextlib.suppress(RedisError, OSError):  # the job is FAILED in the database before the event
            await finish_fetch_job(job, bus, FetchJobStatus.FAILED, error=reason)
        raise Unavailable(reason) from exc
    return job
