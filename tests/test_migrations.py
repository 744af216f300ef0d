"""The checked-in migrations match the models (checked in its own process: Tortoise state is global)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

from tests.support import databases

PENDING_CHANGES = """
import asyncio, json, sys
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector
from db_models.config import tortoise_config

async def main():
    config = tortoise_config(sys.argv[1])
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    print(json.dumps([[str(op) for op in w.operations] for w in writers]))

asyncio.run(main())
"""


def test_the_models_have_no_changes_missing_from_the_migrations(settings):
    result = subprocess.run(
        [sys.executable, "-c", PENDING_CHANGES, settings.database_url], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    pending = json.loads(result.stdout.strip().splitlines()[-1])
    assert pending == [], "run: tortoise -c db_models.config.TORTOISE_ORM makemigrations"


# The schema of the last release (its newest migration): an upgrade from it must keep every row and give
# every column added since its default, on SQLite and PostgreSQL alike.
LAST_RELEASE = "aibt.0003_conversation_replies"

UPGRADE_WITH_ROWS = """
import asyncio, json, sys
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from db_models.config import tortoise_config

async def main():
    config = tortoise_config(sys.argv[1])
    await migrate(config=config, target=sys.argv[2])
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    db = Tortoise.get_connection("default")
    now = "CURRENT_TIMESTAMP"
    [user] = await db.execute_query_dict(
        "INSERT INTO users (email, password_hash, role, created_at, updated_at)"
        f" VALUES ('m@x.y', 'x', 'USER', {now}, {now}) RETURNING id")
    [model] = await db.execute_query_dict(
        "INSERT INTO trading_models (owner_id, name, signature, is_active, allowed_tickers, initial_cash,"
        f" ai_model, parameters, created_at, updated_at) VALUES ({user['id']}, 'm', 'm', true, '[]', 100,"
        f" 'local/momentum', '{{}}', {now}, {now}) RETURNING id")
    [run] = await db.execute_query_dict(
        "INSERT INTO runs (model_id, run_number, mode, status, created_at, strategy_snapshot, max_steps,"
        " bar_interval, progress_current, progress_total, total_trades, llm_calls, input_tokens,"
        f" output_tokens, attempts, cancel_requested) VALUES ({model['id']}, 1, 'DAILY', 'COMPLETED', {now},"
        " '{}', 30, 'DAY', 0, 0, 0, 0, 0, 0, 0, false) RETURNING id")
    await db.execute_query(
        "INSERT INTO positions (run_id, action_id, date, timestamp, action, holdings, cash)"
        f" VALUES ({run['id']}, 1, '2025-01-02', {now}, 'BUY', '{{}}', 100)")
    [conversation] = await db.execute_query_dict(
        "INSERT INTO conversations (user_id, title, is_active, cancel_reply_requested, created_at, updated_at)"
        f" VALUES ({user['id']}, 't', true, false, {now}, {now}) RETURNING id")
    await Tortoise.close_connections()
    await migrate(config=config)
    await Tortoise.init(config=config)
    from db_models.accounts import User
    from db_models.chat import Conversation
    from db_models.runs import Position, Run
    from db_models.trading import TradingModel
    position, costs = await Position.get(run_id=run["id"]), await TradingModel.get(id=model["id"])
    upgraded_user, upgraded_run = await User.get(id=user["id"]), await Run.get(id=run["id"])
    archived = (await Conversation.get(id=conversation["id"])).archived
    print(json.dumps({
        "fee": str(position.fee),
        "costs": [str(costs.commission_fixed), str(costs.commission_bps), str(costs.commission_minimum),
                  str(costs.slippage_bps), costs.max_position_weight],
        "extra_tools": costs.extra_tools,
        "token_version": upgraded_user.token_version,
        "avatar_url": upgraded_user.avatar_url,
        "used_external_tools": upgraded_run.used_external_tools,
        "archived": archived,
        "arena": [upgraded_run.arena_id, upgraded_run.arena_end_announced, upgraded_run.benchmark_symbol],
    }))
    await Tortoise.close_connections()

async def run():
    try:
        await main()
    finally:  # an open SQLite connection thread would keep a failed run alive
        await Tortoise.close_connections()

asyncio.run(run())
"""


async def test_an_install_of_the_last_release_with_rows_upgrades_and_new_columns_take_their_defaults(tmp_path):
    database_url, name = await databases.create_database(tmp_path)
    try:
        result = subprocess.run(
            [sys.executable, "-c", UPGRADE_WITH_ROWS, database_url, LAST_RELEASE],
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        await databases.drop_database(name)
    assert result.returncode == 0, result.stderr[-3000:]
    upgraded = json.loads(result.stdout.strip().splitlines()[-1])
    assert Decimal(upgraded.pop("fee")) == 0
    costs = upgraded.pop("costs")
    assert [Decimal(c) for c in costs[:4]] == [0, 0, 0, 0] and costs[4] is None
    assert upgraded == {
        "extra_tools": [],
        "token_version": 0,
        "avatar_url": None,
        "used_external_tools": False,
        "archived": False,
        "arena": [None, False, None],
    }
