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


UPGRADE_WITH_ROWS = """
import asyncio, json, sys
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from db_models.config import tortoise_config

async def main():
    config = tortoise_config(sys.argv[1])
    # The state before 0005: both 0004 migrations, which it depends on.
    await migrate(config=config, target="aibt.0004_corporate_actions")
    await migrate(config=config, target="aibt.0004_profile_and_archive")
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    db = Tortoise.get_connection("default")
    applied = await db.execute_query_dict("SELECT name FROM tortoise_migrations")
    assert {row["name"] for row in applied} >= {"0004_corporate_actions", "0004_profile_and_archive"}, applied
    now = "CURRENT_TIMESTAMP"
    [user] = await db.execute_query_dict(
        "INSERT INTO users (email, password_hash, role, token_version, created_at, updated_at)"
        f" VALUES ('m@x.y', 'x', 'USER', 0, {now}, {now}) RETURNING id")
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
    await Tortoise.close_connections()
    await migrate(config=config)
    await Tortoise.init(config=config)
    from db_models.runs import Position
    from db_models.trading import TradingModel
    position, costs = await Position.get(run_id=run["id"]), await TradingModel.get(id=model["id"])
    print(json.dumps([str(position.fee), str(costs.commission_fixed), str(costs.commission_bps),
                      str(costs.commission_minimum), str(costs.slippage_bps), costs.max_position_weight]))
    await Tortoise.close_connections()

async def run():
    try:
        await main()
    finally:  # an open SQLite connection thread would keep a failed run alive
        await Tortoise.close_connections()

asyncio.run(run())
"""


async def test_an_install_with_models_and_runs_upgrades_to_zero_costs_and_fees(tmp_path):
    database_url, name = await databases.create_database(tmp_path)
    try:
        result = subprocess.run(
            [sys.executable, "-c", UPGRADE_WITH_ROWS, database_url], capture_output=True, text=True, timeout=180
        )
    finally:
        await databases.drop_database(name)
    assert result.returncode == 0, result.stderr[-3000:]
    fee, *costs = json.loads(result.stdout.strip().splitlines()[-1])
    assert Decimal(fee) == 0 and [Decimal(c) for c in costs[:4]] == [0, 0, 0, 0] and costs[4] is None
