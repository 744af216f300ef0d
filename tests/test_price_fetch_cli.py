"""`aibt data fetch` as a user runs it, against the local Alpha Vantage stand-in, on a fresh database."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.support import databases
from tests.support.alphavantage import API_KEY, StandIn, running_alphavantage
from tests.support.processes import AIBT, clean_env

RANGE = ("--from", "2025-06-10", "--to", "2025-10-29")


@pytest_asyncio.fixture(scope="module")
async def alphavantage() -> AsyncIterator[StandIn]:
    async with running_alphavantage() as stand_in:
        yield stand_in


@pytest_asyncio.fixture
async def env(alphavantage: StandIn, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """A fresh database of the session's kind, and the settings pointing at the stand-in."""
    alphavantage.reset()
    database_url, pg_name = await databases.create_database(tmp_path)
    try:
        yield clean_env(
            DATABASE_URL=database_url,
            AIBT_DATA_DIR=str(tmp_path / "data"),
            ALPHAVANTAGE_API_KEY=API_KEY,
            AIBT_ALPHAVANTAGE_URL=alphavantage.url,
            AIBT_ALPHAVANTAGE_CALLS_PER_MINUTE="60000",
            AIBT_ALPHAVANTAGE_THROTTLE_WAIT_SECONDS="0.01",
        )
    finally:
        await databases.drop_database(pg_name)


async def start_fetch(env: dict[str, str], cwd: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        AIBT, "data", "fetch", *args, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def fetch(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    """Runs the command while this event loop keeps serving the stand-in."""
    process = await start_fetch(env, cwd, *args)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, out.decode(), err.decode()


async def test_without_a_key_the_command_fails_at_once_naming_the_variable(alphavantage, env, tmp_path):
    env.pop("ALPHAVANTAGE_API_KEY")
    code, _, err = await fetch(env, tmp_path, "AAPL")

    assert code == 1 and "ALPHAVANTAGE_API_KEY is not set" in err
    assert alphavantage.requests == []


async def test_each_symbol_gets_a_summary_and_failed_symbols_make_the_command_fail(alphavantage, env, tmp_path):
    code, out, err = await fetch(env, tmp_path, "AAPL", "zzzz", "NVDA", *RANGE, "--no-progress")

    assert code == 1
    lines = out.splitlines()
    assert "AAPL: 99 bars added (2025-06-10..2025-10-29), 5 new actions; 3 requests" in lines
    assert "NVDA: 99 bars added (2025-06-10..2025-10-29), 5 new actions; 3 requests" in lines
    assert any(line.startswith("ZZZZ: failed: Invalid API call.") for line in lines)
    assert "2 of 3 symbols fetched or up to date, 198 bars added, 7 requests. Failed: ZZZZ." in err

    alphavantage.requests.clear()
    code, out, err = await fetch(env, tmp_path, "AAPL", "NVDA", *RANGE, "--no-progress")
    assert code == 0, err
    assert out.splitlines()[:2] == ["AAPL: up to date (0 requests)", "NVDA: up to date (0 requests)"]
    assert alphavantage.requests == []


async def test_a_progress_bar_shows_each_symbols_calls(alphavantage, env, tmp_path):
    code, out, err = await fetch(env, tmp_path, "MSFT", *RANGE)

    assert code == 0, err
    assert "MSFT (1/1)" in err and "3/3" in err  # tqdm writes to stderr
    assert "MSFT: 99 bars added (2025-06-10..2025-10-29), 3 new actions; 3 requests" in out


async def test_an_interrupted_fetch_resumes_without_asking_again_for_the_symbols_written(alphavantage, env, tmp_path):
    release = alphavantage.hold("MSFT")
    process = await start_fetch(env, tmp_path, "AAPL", "MSFT", "NVDA", *RANGE, "--no-progress")
    await asyncio.wait_for(alphavantage.arrived["MSFT"].wait(), timeout=60)
    process.send_signal(signal.SIGINT)  # the user presses Ctrl-C while MSFT is being fetched
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    release.set()
    assert process.returncode == 130
    assert "AAPL: 99 bars added" in out.decode() and "MSFT" not in out.decode()
    assert "Interrupted: the symbols finished so far are kept" in err.decode() and "Traceback" not in err.decode()

    alphavantage.requests.clear()
    code, out, err = await fetch(env, tmp_path, "AAPL", "MSFT", "NVDA", *RANGE, "--no-progress")

    assert code == 0, err
    assert alphavantage.asked(symbol="AAPL") == []
    assert len(alphavantage.asked(symbol="MSFT")) == len(alphavantage.asked(symbol="NVDA")) == 3
    assert out.splitlines()[:3] == [
        "AAPL: up to date (0 requests)",
        "MSFT: 99 bars added (2025-06-10..2025-10-29), 3 new actions; 3 requests",
        "NVDA: 99 bars added (2025-06-10..2025-10-29), 5 new actions; 3 requests",
    ]


async def test_a_universe_fetches_its_listed_symbols_and_names_its_date(alphavantage, env, tmp_path):
    code, out, err = await fetch(
        env, tmp_path, "--universe", "nasdaq100", "--from", "2025-10-01", "--to", "2025-10-29", "--no-actions",
        "--no-progress",
    )  # fmt: skip

    assert out.splitlines()[0].startswith("Universe nasdaq100: 101 symbols, the NASDAQ-100 index's constituents")
    assert "as of 2025-10-30" in out.splitlines()[0]
    assert len({r["symbol"] for r in alphavantage.requests}) == 101
    fetched = [line for line in out.splitlines() if " bars added " in line]
    assert [line.split(":")[0] for line in fetched] == ["AAPL", "AMZN", "GOOGL", "MSFT", "NVDA"]  # all it knows
    assert code == 1 and "5 of 101 symbols fetched or up to date" in err


async def test_bad_arguments_are_refused_before_anything_is_asked(alphavantage, env, tmp_path):
    refusals = [
        (("--universe", "dow30"), "unknown universe 'dow30'; known: nasdaq100"),
        (("AAPL", "--from", "2025-10-02", "--to", "2025-10-01"), "--from must not be after --to"),
        (("AA PL",), "is not a well-formed ticker symbol"),
        ((), "Name at least one SYMBOL, or --universe NAME."),
    ]
    for args, message in refusals:
        code, _, err = await fetch(env, tmp_path, *args)
        assert code == 2 and message in " ".join(err.split()), err
    assert alphavantage.requests == []
