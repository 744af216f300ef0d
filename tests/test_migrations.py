"""The checked-in migrations match the models (checked in its own process: Tortoise state is global)."""

from __future__ import annotations

import json
import subprocess
import sys

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
