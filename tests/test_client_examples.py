"""The scripts in client_examples/, each run as its own process against the session's live server."""

from __future__ import annotations

import ast
import asyncio
import csv
import os
import re
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio

from db_models.metrics import TradeRecord
from db_models.metrics import win_rate as metrics_win_rate
from tests.conftest import PASSWORD, Account, signed_up
from tests.support import price_fixtures as px
from tests.support.run_helpers import START_DAILY, follow_run
from tests.support.server import free_port
from tests.support.wave_market import DAYS, WAVE_CLOSES, wave_market

EXAMPLES = Path(__file__).resolve().parents[1] / "client_examples"
# The swinging symbol of these tests (tests/support/wave_market.py): the buy-and-hold curve has losing days and
# drawdowns to measure and shade.
WAVE = "CXWV"
CREATE = "mutation($input: CreateModelInput!) { createModel(input: $input) { id name } }"
RUN = """query($id: ID!) { run(id: $id) { id runNumber status totalTrades
  positions(first: 1) { totalCount }
  performance { initialValue finalValue totalReturn annualizedReturn volatility sharpeRatio sortinoRatio
                maxDrawdown winRate totalTrades tradingDays totalFees totalDividends } } }"""
SEQ_LINE = re.compile(r"^\[\s*(\d+)\] (\w+)", re.MULTILINE)


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


async def run_example(script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Finished:
    """Runs client_examples/<script> with this interpreter, as a user would, without blocking the server's loop."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AIBT_")}
    environment.update(env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / script),
        *args,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return Finished(process.returncode, stdout.decode(), stderr.decode())


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def market(server_url):
    async with wave_market(WAVE) as urls:
        yield urls


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def account(api) -> Account:
    return await signed_up(api, "examples")


async def make_model(
    api, account: Account, name: str, ai_model: str = "local/buy-and-hold", tickers: tuple[str, ...] = (px.SYMBOL, WAVE)
) -> str:
    data = await api.data(
        CREATE, {"input": {"name": name, "allowedTickers": list(tickers), "aiModel": ai_model}}, token=account.token
    )
    return data["createModel"]["id"]


async def start_run(api, account: Account, model_id: str, end=DAYS[-1]) -> str:
    variables = {"model": model_id, "input": {"startDate": DAYS[0].isoformat(), "endDate": end.isoformat()}}
    return (await api.data(START_DAILY, variables, token=account.token))["startDailyRun"]["id"]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def finished(api, server_url, account, market) -> dict:
    """A buy-and-hold model over LKAH and the wave, with one completed run across the test month."""
    name = f"Examples hold {account.email[9:19]}"
    model_id = await make_model(api, account, name)
    run_id = await start_run(api, account, model_id)
    events, error = await follow_run(server_url.replace("http://", "ws://") + "/graphql", account.token, run_id)
    assert error is None and events[-1]["kind"] == "COMPLETED", events[-1:]
    run = (await api.data(RUN, {"id": run_id}, token=account.token))["run"]
    return {"model_id": model_id, "name": name, "run": run}


def hand_computed_return() -> float:
    """5,000 buys 50 LKAH at 100 and 100 of the wave at 50 on the first open; nothing is left over."""
    final = 50 * px.daily_close(len(DAYS) - 1) + 100 * WAVE_CLOSES[-1]
    return float(final / Decimal("10000") - 1)


def printed_events(stdout: str) -> list[tuple[int, str]]:
    return [(int(seq), kind) for seq, kind in SEQ_LINE.findall(stdout)]


async def test_query_models_logs_in_and_lists_each_model_with_its_latest_runs_return(
    api, server_url, account, finished
):
    idle = f"Examples idle {account.email[9:19]}"
    await make_model(api, account, idle)
    result = await run_example(
        "query_models.py", "--url", server_url, "--email", account.email, env={"AIBT_PASSWORD": PASSWORD}
    )
    assert result.code == 0, result
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "MODEL",
        "AI",
        "MODEL",
        "RUN",
        "STATUS",
        "PERIOD",
        "RETURN",
        "SHARPE",
        "MAX",
        "DD",
        "TRADES",
    ]
    [row] = [line for line in lines if line.startswith(finished["name"])]
    performance = finished["run"]["performance"]
    assert performance["totalReturn"] == pytest.approx(hand_computed_return(), abs=1e-12)
    cells = row[len(finished["name"]) :].split()
    assert cells == [
        "local/buy-and-hold",
        "#1",
        "COMPLETED",
        f"{DAYS[0]}..{DAYS[-1]}",
        f"{performance['totalReturn'] * 100:+.2f}%",
        f"{performance['sharpeRatio']:.2f}",
        f"{performance['maxDrawdown'] * 100:.2f}%",
        "2",
    ]
    [idle_row] = [line for line in lines if line.startswith(idle)]
    assert "no runs" in idle_row
    assert "2 models;" in result.stdout


async def test_query_models_says_why_when_the_password_is_wrong(server_url, account):
    result = await run_example(
        "query_models.py", "--url", server_url, "--email", account.email, env={"AIBT_PASSWORD": "not the password"}
    )
    assert result.code == 1, result
    assert result.stderr.startswith("error: UNAUTHENTICATED") and "Traceback" not in result.stderr


async def test_the_watcher_starts_a_run_follows_it_live_and_prints_its_trades(api, server_url, account, market):
    model_id = await make_model(api, account, f"Examples watched {account.email[9:19]}")
    result = await run_example(
        "watch_run.py",
        "--url",
        server_url,
        "--model-id",
        model_id,
        "--start",
        DAYS[0].isoformat(),
        "--end",
        DAYS[-1].isoformat(),
        env={"AIBT_TOKEN": account.token},
    )
    assert result.code == 0, result
    assert re.search(r"^Started run #1 \(\S+\): QUEUED$", result.stdout, re.MULTILINE), result
    trades = [line.split("] ", 1)[1] for line in result.stdout.splitlines() if "] TRADE " in line]
    # The two orders go out together, so either may fill first (and the cash after each differs).
    assert sorted(t.split("  cash")[0] for t in trades) == [
        f"TRADE     {DAYS[0]} BUY 100 {WAVE} @ 50.00",
        f"TRADE     {DAYS[0]} BUY 50 {px.SYMBOL} @ 100.00",
    ]
    kinds = [kind for _, kind in printed_events(result.stdout)]
    assert kinds[:2] == ["QUEUED", "STARTED"] and kinds[-1] == "COMPLETED" and "PROGRESS" not in kinds
    assert result.stdout.rstrip().splitlines()[-1] == (
        f"Run #1 of Examples watched {account.email[9:19]}: COMPLETED, 2 trades, "
        f"return {hand_computed_return() * 100:+.2f}%"
    )
    assert f"{len(DAYS)}/{len(DAYS)}" in result.stderr  # the progress bar reached the end


async def test_the_watcher_resumes_after_a_dropped_connection_with_no_event_missed_or_repeated(
    api, server_url, account, market, remote_llm
):
    remote_llm.delay_seconds = 0.03  # slow enough that the drop happens while the run is live
    model_id = await make_model(
        api, account, f"Examples resumed {account.email[9:19]}", ai_model="openai/gpt-5", tickers=(px.SYMBOL,)
    )
    run_id = await start_run(api, account, model_id, end=DAYS[9])
    result = await run_example(
        "watch_run.py",
        "--url",
        server_url,
        "--run-id",
        run_id,
        "--drop-after",
        "3",
        "--verbose",
        env={"AIBT_TOKEN": account.token},
    )
    assert result.code == 0, result
    assert "closed on purpose after 3 events" in result.stderr
    assert "resuming after seq 3" in result.stderr
    printed = printed_events(result.stdout)
    everything, error = await follow_run(
        server_url.replace("http://", "ws://") + "/graphql", account.token, run_id, after_seq=0
    )
    assert error is None
    assert printed == [(e["seq"], e["kind"]) for e in everything]
    assert [seq for seq, _ in printed] == list(range(1, len(printed) + 1))
    assert [kind for _, kind in printed].count("TRADE") == 10 and printed[-1][1] == "COMPLETED"


async def test_the_watcher_exits_non_zero_when_the_run_fails(api, server_url, account, market, remote_llm):
    remote_llm.fail_status = 500
    model_id = await make_model(
        api, account, f"Examples failing {account.email[9:19]}", ai_model="openai/gpt-5", tickers=(px.SYMBOL,)
    )
    result = await run_example(
        "watch_run.py",
        "--url",
        server_url,
        "--model-id",
        model_id,
        "--no-progress",
        "--start",
        DAYS[0].isoformat(),
        "--end",
        DAYS[2].isoformat(),
        env={"AIBT_TOKEN": account.token},
    )
    assert result.code == 1, result
    assert printed_events(result.stdout)[-1][1] == "FAILED"
    assert ": FAILED, 0 trades" in result.stdout


async def test_the_watcher_reports_a_run_it_cannot_see(server_url, signup, finished):
    stranger = await signup("stranger")
    result = await run_example(
        "watch_run.py",
        "--url",
        server_url,
        "--run-id",
        finished["run"]["id"],
        "--no-progress",
        env={"AIBT_TOKEN": stranger.token},
    )
    assert result.code == 4, result
    assert "NOT_FOUND" in result.stderr and "Traceback" not in result.stderr


async def test_the_watcher_stops_at_once_when_the_server_refuses_its_token(server_url, finished):
    result = await run_example(
        "watch_run.py",
        "--url",
        server_url,
        "--run-id",
        finished["run"]["id"],
        "--no-progress",
        env={"AIBT_TOKEN": "not-a-token"},
    )
    assert result.code == 4, result
    assert "the server closed the connection: 4403" in result.stderr and "reconnecting" not in result.stderr


async def test_the_watcher_backs_off_and_gives_up_when_the_server_is_unreachable():
    result = await run_example(
        "watch_run.py",
        "--url",
        f"http://127.0.0.1:{free_port()}",
        "--run-id",
        "UnVuOjE",
        "--no-progress",
        "--max-retries",
        "2",
        env={"AIBT_TOKEN": "any"},
    )
    assert result.code == 4, result
    assert re.findall(r"reconnecting in (\S+)s", result.stderr) == ["0.5", "1.0"]
    assert "gave up after 2 reconnects" in result.stderr


def parse_metrics(stdout: str) -> dict[str, tuple[object, object, str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("METRIC"))
    rows = {}
    for line in lines[start + 1 :]:
        if line.startswith("wrote "):
            break
        name, computed, api_value, verdict = line.split()
        rows[name] = (ast.literal_eval(computed), ast.literal_eval(api_value), verdict)
    return rows


async def test_analytics_recomputes_the_apis_metrics_and_writes_a_chart_and_csvs(
    server_url, account, finished, tmp_path
):
    out_dir = tmp_path / "report"
    result = await run_example(
        "analytics.py",
        "--url",
        server_url,
        finished["run"]["id"],
        "--out-dir",
        str(out_dir),
        env={"AIBT_TOKEN": account.token},
    )
    assert result.code == 0, result
    metrics = parse_metrics(result.stdout)
    performance = finished["run"]["performance"]
    assert set(metrics) == set(performance)
    for name, (computed, api_value, verdict) in metrics.items():
        assert api_value == performance[name], name
        assert verdict == "ok", name
        if performance[name] is None:
            assert computed is None, name
        else:
            assert computed == pytest.approx(performance[name], abs=1e-9), name
    # The wave makes every figure real: losing days (Sortino) and a drawdown; no sells, so no win rate.
    assert performance["sortinoRatio"] is not None and performance["maxDrawdown"] > 0
    assert performance["winRate"] is None and metrics["winRate"][0] is None
    assert metrics["totalReturn"][0] == pytest.approx(hand_computed_return(), abs=1e-12)

    png = out_dir / "equity.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    with (out_dir / "equity_curve.csv").open() as file:
        curve = list(csv.DictReader(file))
    assert [row["date"] for row in curve] == [day.isoformat() for day in DAYS]
    assert float(curve[-1]["value"]) == pytest.approx(performance["finalValue"])
    assert max(float(row["drawdown"]) for row in curve) == pytest.approx(performance["maxDrawdown"], abs=1e-12)
    with (out_dir / "positions.csv").open() as file:
        positions = list(csv.DictReader(file))
    assert len(positions) == finished["run"]["positions"]["totalCount"]
    assert sorted((p["action"], p["symbol"], p["amount"]) for p in positions if p["action"] == "BUY") == [
        ("BUY", WAVE, "100"),
        ("BUY", px.SYMBOL, "50"),
    ]


async def test_analytics_flags_a_run_it_cannot_see(server_url, signup, finished, tmp_path):
    stranger = await signup("stranger")
    result = await run_example(
        "analytics.py",
        "--url",
        server_url,
        finished["run"]["id"],
        "--out-dir",
        str(tmp_path),
        env={"AIBT_TOKEN": stranger.token},
    )
    assert result.code == 1 and "NOT_FOUND" in result.stderr, result
    assert not any(tmp_path.iterdir())


async def test_an_intraday_session_is_watched_and_its_metrics_recomputed_per_bar(
    api, server_url, account, market, tmp_path
):
    model_id = await make_model(api, account, f"Examples intraday {account.email[9:19]}", tickers=(px.SYMBOL,))
    watched = await run_example(
        "watch_run.py",
        "--url",
        server_url,
        "--model-id",
        model_id,
        "--no-progress",
        "--symbol",
        px.SYMBOL,
        "--date",
        px.HOURLY_DATE.isoformat(),
        env={"AIBT_TOKEN": account.token},
    )
    assert watched.code == 0, watched
    # 10,000 at the 10:00 bar's close buys 19 shares, filled at the 11:00 bar's open.
    [trade] = [line for line in watched.stdout.splitlines() if "] TRADE " in line]
    assert f"BUY 19 {px.SYMBOL} @ {px.hourly_open(11):.2f}" in trade
    run_id = re.search(r"^Started run #\d+ \((\S+)\)", watched.stdout, re.MULTILINE).group(1)

    analysed = await run_example(
        "analytics.py", "--url", server_url, run_id, "--out-dir", str(tmp_path), env={"AIBT_TOKEN": account.token}
    )
    assert analysed.code == 0, analysed
    performance = (await api.data(RUN, {"id": run_id}, token=account.token))["run"]["performance"]
    for name, (computed, api_value, verdict) in parse_metrics(analysed.stdout).items():
        assert verdict == "ok" and api_value == performance[name], name
        assert computed == (None if performance[name] is None else pytest.approx(performance[name], abs=1e-9)), name
    assert performance["annualizedReturn"] is not None  # 252 x 6 hourly bars a year, read off the curve
    assert (tmp_path / "equity.png").stat().st_size > 10_000


def test_the_analytics_win_rate_follows_fees_and_splits_as_the_api_does(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the script imports its sibling aibt_client, as when run
    from client_examples.analytics import positions_frame, win_rate

    rows = [
        ("BUY", "AAPL", 10, 100.0, 5.0),  # cost 1,005
        ("SPLIT", "AAPL", 10, 2.0, 0.0),  # 20 shares at 50.25
        ("SELL", "AAPL", 10, 50.4, 1.0),  # 503 against 502.50: a win
        ("DIVIDEND", "AAPL", 10, 0.5, 0.0),
        ("SELL", "AAPL", 10, 50.3, 1.0),  # 502 against 502.50: a loss
        ("BUY", "MSFT", 9, 30.0, 0.0),  # 270
        ("SPLIT", "MSFT", 9, 0.333333, 0.0),  # 1-for-3: 3 shares at 90
        ("SELL", "MSFT", 3, 90.0, 0.0),  # exactly the cost: not a win
    ]
    positions = [
        {
            "actionId": i + 1,
            "date": "2025-01-02",
            "timestamp": "2025-01-02T14:30:00+00:00",
            "action": action,
            "symbol": symbol,
            "amount": amount,
            "price": price,
            "fee": fee,
            "cash": 0.0,
            "holdings": {},
        }
        for i, (action, symbol, amount, price, fee) in enumerate(rows)
    ]
    expected = metrics_win_rate([TradeRecord(a, s, n, Decimal(str(p)), Decimal(str(f))) for a, s, n, p, f in rows])
    assert win_rate(positions_frame(positions)) == expected == pytest.approx(1 / 3)
