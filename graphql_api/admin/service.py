"""What the admin views compute: the leaderboard, counts, and the health of every moving part."""

from __future__ import annotations

from tortoise.functions import Count

from db_models.accounts import User
from db_models.chat import ChatMessage, Conversation
from db_models.runs import Run, RunStatus
from db_models.settings import Settings
from db_models.trading import TradingModel
from graphql_api.accounts.types import User as UserType
from graphql_api.admin.types import LeaderboardEntry, SystemStats, SystemStatus, ToolServerStatus
from graphql_api.errors import BadUserInput
from graphql_api.health import database_status
from graphql_api.runs.loaders import curve_performance_by_run
from graphql_api.runs.types import Run as RunType
from graphql_api.trading_models.types import TradingModel as ModelType
from tasks.worker_runtime import live_worker_count
from tools.extra_servers import extra_server_status
from tools.launcher import tool_server_status

MAX_LEADERBOARD = 100


async def leaderboard(limit: int | None) -> list[LeaderboardEntry]:
    limit = 20 if limit is None else limit
    if not 1 <= limit <= MAX_LEADERBOARD:
        raise BadUserInput(f"limit must be between 1 and {MAX_LEADERBOARD}.", field="limit")
    best: dict[int, Run] = {}
    completed = Run.filter(status=RunStatus.COMPLETED, final_return__isnull=False).order_by("-final_return", "id")
    async for run in completed:
        best.setdefault(run.model_id, run)
        if len(best) >= limit:
            break
    runs = list(best.values())
    models = {m.id: m for m in await TradingModel.filter(id__in=[r.model_id for r in runs])}
    owners = {u.id: u for u in await User.filter(id__in=[m.owner_id for m in models.values()])}
    all_figures = await curve_performance_by_run(runs)  # the Sharpe ratios, batched
    entries = []
    for rank, (run, figures) in enumerate(zip(runs, all_figures, strict=True), start=1):
        model = models[run.model_id]
        entries.append(
            LeaderboardEntry(
                rank=rank,
                model=ModelType.from_row(model),
                run=RunType.from_row(run),
                owner=UserType.from_row(owners[model.owner_id]),
                total_return=run.final_return,
                sharpe_ratio=figures.sharpe_ratio if figures else None,
                max_drawdown=run.max_drawdown if run.max_drawdown is not None else 0.0,
            )
        )
    return entries


async def system_stats() -> SystemStats:
    by_status = dict(await Run.all().annotate(n=Count("id")).group_by("status").values_list("status", "n"))
    return SystemStats(
        users=await User.all().count(),
        models=await TradingModel.all().count(),
        runs=await Run.all().count(),
        runs_by_status={str(s.value): by_status.get(s, by_status.get(s.value, 0)) for s in RunStatus},
        conversations=await Conversation.all().count(),
        messages=await ChatMessage.all().count(),
    )


async def system_status(settings: Settings, redis_ok: str | None) -> SystemStatus:
    servers = [*await tool_server_status(), *await extra_server_status()]
    mode = "redis" if settings.redis_url else "embedded"
    return SystemStatus(
        database=await database_status(),
        broker=f"{mode}: {redis_ok}" if settings.redis_url else "embedded (in-process worker)",
        pubsub=f"{mode}: {redis_ok}" if settings.redis_url else "embedded (in-process)",
        tool_servers=[
            ToolServerStatus(name=s.name, url=s.url, healthy=s.healthy, tools=list(s.tools), external=s.external)
            for s in servers
        ],
        workers=await live_worker_count(settings),
        queued_runs=await Run.filter(status=RunStatus.QUEUED).count(),
        running_runs=await Run.filter(status=RunStatus.RUNNING).count(),
    )
