"""client_examples/arena.py and analytics.py's arena and baseline output, each run as its own process against
the session's live server."""

from __future__ import annotations

import csv
import re

import pandas as pd
import pytest
import pytest_asyncio

from tests.conftest import Account, signed_up
from tests.support import price_fixtures as px
from tests.support.arena_helpers import DAYS, START_ARENA, WAVE, arena_input, create_model, follow_arena
from tests.support.wave_market import WAVE_CLOSES, WAVE_OPENS, wave_market
from tests.test_client_examples import run_example

approx = pytest.approx
STANDINGS = """query($id: ID!) { arena(id: $id) { status standings { rank modelName aiModel status totalReturn
  excessReturn sharpeRatio maxDrawdown totalTrades totalFees llmCalls inputTokens outputTokens run { id } } } }"""
EVENT_LINE = re.compile(r"^\[\s*(\d+)\] (.+?): (\w+)", re.MULTILINE)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def market(server_url):
    async with wave_market(WAVE) as urls:
        yield urls


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def account(api) -> Account:
    return await signed_up(api, "arena-examples")


async def three_models(api, account: Account, prefix: str) -> list[str]:
    return [
        await create_model(api, account, f"{prefix} holder", "local/buy-and-hold", (px.SYMBOL, WAVE)),
        await create_model(api, account, f"{prefix} momentum", "local/momentum", (px.SYMBOL, WAVE)),
        await create_model(api, account, f"{prefix} wave", "local/buy-and-hold", (WAVE,)),
    ]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def finished_arena(api, server_url, account, market) -> str:
    models = await three_models(api, account, "Finished")
    arena = (await api.data(START_ARENA, arena_input("Finished", models), token=account.token))["startArena"]
    events, error = await follow_arena(server_url.replace("http://", "ws://") + "/graphql", account.token, arena["id"])
    assert error is None and events[-1]["kind"] == "ENDED"
    return arena["id"]


def said(fraction: float | None, signed: bool = True) -> str:
    if fraction is None:
        return "-"
    return f"{round(fraction * 100, 2) + 0.0:+.2f}%" if signed else f"{fraction * 100:.2f}%"


def table_rows(stdout: str) -> list[list[str]]:
    """The rows of the last standings table printed, split on runs of two or more spaces."""
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("RANK"))
    return [re.split(r"\s{2,}", line.strip()) for line in lines[start + 1 :] if re.match(r"^\s*\d+\s", line)]


def expected_row(standing: dict) -> list[str]:
    return [
        str(standing["rank"]),
        standing["modelName"],
        standing["aiModel"],
        standing["status"],
        f"{len(DAYS)}/{len(DAYS)}",
        said(standing["totalReturn"]),
        said(standing["excessReturn"]),
        "-" if standing["sharpeRatio"] is None else f"{standing['sharpeRatio']:.2f}",
        said(standing["maxDrawdown"], signed=False),
        str(standing["totalTrades"]),
        f"{standing['totalFees']:.2f}",
        str(standing["llmCalls"]),
        str(standing["inputTokens"] + standing["outputTokens"]),
    ]


async def test_the_arena_script_starts_an_arena_prints_each_runs_milestones_and_ends_with_its_standings(
    api, server_url, account, market
):
    models = await three_models(api, account, "Scripted")
    model_arguments = [argument for model in models for argument in ("--model-id", model)]
    result = await run_example(
        "arena.py",
        "--url",
        server_url,
        "--name",
        "Scripted",
        *model_arguments,
        "--start",
        DAYS[0].isoformat(),
        "--end",
        DAYS[-1].isoformat(),
        env={"AIBT_TOKEN": account.token},
    )
    assert result.code == 0, result
    arena_id = re.search(r'^Started arena "Scripted" \((\S+)\) with 3 runs$', result.stdout, re.MULTILINE).group(1)
    events = [(int(seq), name, kind) for seq, name, kind in EVENT_LINE.findall(result.stdout)]
    assert [seq for seq, _, _ in events] == sorted(seq for seq, _, _ in events)
    assert {name for _, name, _ in events} == {"Scripted holder", "Scripted momentum", "Scripted wave"}
    assert sorted(name for _, name, kind in events if kind == "COMPLETED") == [
        "Scripted holder",
        "Scripted momentum",
        "Scripted wave",
    ]
    assert re.search(r"^\[\s*\d+\] ENDED COMPLETED$", result.stdout, re.MULTILINE)
    arena = (await api.data(STANDINGS, {"id": arena_id}, token=account.token))["arena"]
    assert table_rows(result.stdout) == [expected_row(s) for s in arena["standings"]]
    assert 'Arena "Scripted" COMPLETED' in result.stdout


async def test_the_arena_script_redraws_live_standings_and_resumes_after_a_dropped_connection(
    api, server_url, account, market, remote_llm
):
    remote_llm.delay_seconds = 0.02
    models = [await create_model(api, account, f"Live {i}", "openai/gpt-5", (px.SYMBOL,)) for i in range(2)]
    arena = (await api.data(START_ARENA, arena_input("Live", models, end=DAYS[7]), token=account.token))["startArena"]
    result = await run_example(
        "arena.py",
        "--url",
        server_url,
        "--arena-id",
        arena["id"],
        "--live",
        "--refresh",
        "0.2",
        "--drop-after",
        "5",
        env={"AIBT_TOKEN": account.token},
    )
    assert result.code == 0, result
    assert "closed on purpose after 5 events" in result.stderr and "resuming after seq 5" in result.stderr
    frames = result.stdout.split("\x1b[H\x1b[2J")[1:]
    assert len(frames) >= 2  # redrawn while the runs traded, then the final standings
    assert any("RUNNING" in frame for frame in frames[:-1])
    assert 'Arena "Live" COMPLETED' in frames[-1] and "Live 0" in frames[-1] and "Live 1" in frames[-1]


async def test_the_arena_script_reports_an_arena_it_cannot_see(server_url, signup, finished_arena):
    stranger = await signup("stranger")
    result = await run_example(
        "arena.py", "--url", server_url, "--arena-id", finished_arena, env={"AIBT_TOKEN": stranger.token}
    )
    assert result.code == 4 and "NOT_FOUND" in result.stderr and "Traceback" not in result.stderr, result


async def test_analytics_recomputes_an_arenas_standings_and_draws_every_curve_with_the_baseline(
    api, server_url, account, finished_arena, tmp_path
):
    result = await run_example(
        "analytics.py",
        "--url",
        server_url,
        "--arena",
        finished_arena,
        "--out-dir",
        str(tmp_path),
        env={"AIBT_TOKEN": account.token},
    )
    assert result.code == 0, result
    checks = [line.split("  ") for line in result.stdout.splitlines() if line.endswith(("holder", "momentum", "wave"))]
    assert len(checks) == 3 * 5 and all(check[4] == "ok" for check in checks)
    arena = (await api.data(STANDINGS, {"id": finished_arena}, token=account.token))["arena"]
    standings = list(csv.DictReader((tmp_path / "standings.csv").open()))
    assert [(int(s["rank"]), s["model"]) for s in standings] == [
        (s["rank"], s["modelName"]) for s in arena["standings"]
    ]
    curves = pd.read_csv(tmp_path / "curves.csv")
    baseline = "Buy and hold ARWV, LKAH (equal weight)"
    assert set(curves["series"]) == {"Finished holder", "Finished momentum", "Finished wave", baseline}
    held = curves[curves["series"] == baseline]["value"].to_numpy()
    lkah = [float(px.daily_close(i)) * 5000 / float(px.daily_open(0)) for i in range(len(DAYS))]
    wave = [float(c) * 5000 / float(WAVE_OPENS[0]) for c in WAVE_CLOSES]
    assert list(held) == approx([a + b for a, b in zip(lkah, wave, strict=True)], abs=1e-6)
    png = tmp_path / "arena.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


async def test_analytics_of_a_run_writes_its_baselines_beside_its_curve(
    api, server_url, account, finished_arena, tmp_path
):
    arena = (await api.data(STANDINGS, {"id": finished_arena}, token=account.token))["arena"]
    [wave] = [s for s in arena["standings"] if s["modelName"] == "Finished wave"]
    result = await run_example(
        "analytics.py",
        "--url",
        server_url,
        wave["run"]["id"],
        "--out-dir",
        str(tmp_path),
        env={"AIBT_TOKEN": account.token},
    )
    assert result.code == 0, result
    assert f"baseline Buy and hold {WAVE} (equal weight): return " in result.stdout
    rows = list(csv.DictReader((tmp_path / "benchmarks.csv").open()))
    assert [r["date"] for r in rows] == [d.isoformat() for d in DAYS]
    assert [float(r["value"]) for r in rows] == approx([float(c) * 10_000 / 50 for c in WAVE_CLOSES], abs=1e-6)
    assert (tmp_path / "equity.png").stat().st_size > 10_000
