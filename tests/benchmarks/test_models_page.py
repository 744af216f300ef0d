"""A page of 50 models with owner, latest run and performance: SQL statements per request, and requests per
second of the real API beside a bare Starlette + asyncpg endpoint returning the same JSON.

Both servers run the same way, each in its own process under uvicorn (one worker, uvicorn's default loop)
against the session's database, with a pool of at most 5 connections (Tortoise's default). The bare
endpoint checks the same bearer token (signature, expiry, issuer, revocation, user) and answers from
three hand-written statements: the caller, the page with each model's latest and latest completed run
(LATERAL joins), and those runs' equity points; it computes the figures with the same function the API
uses, so the two JSON bodies are equal. Load: CLIENTS concurrent clients, each sending one request after
another for SECONDS per server, in ROUNDS alternating slices in the same run (so that both servers see
the same background load). Besides requests per second, each server's CPU time per request (its process's
user + system time over the slices) is printed: on a shared machine it moves less than the throughput.

tests/test_benchmark_smoke_models_page.py runs the same statement count and comparison on a small page.

    AIBT_TEST_DATABASE=postgres .venv/bin/pytest tests/benchmarks/test_models_page.py -s -q

The bare endpoint needs PostgreSQL (asyncpg), so the throughput comparison is skipped on SQLite; the SQL
count runs on both.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from db_models.accounts import User
from tests.support.databases import backend
from tests.support.model_pages import PAGE_QUERY, seed_model_page
from tests.support.processes import wait_until_healthy
from tests.support.queries import count_sql, new_request_id

PAGE = 50
# The models page's SQL bound, whatever the page's size. It costs 4: the caller with its token's revocation,
# the page, the models' latest runs, and those runs' equity points (none once their figures are kept).
MAX_STATEMENTS = 6
CLIENTS = 10
SECONDS = 10.0
ROUNDS = 5  # each server is measured for SECONDS / ROUNDS at a time, alternately
POOL_SIZE = 5
REPO = Path(__file__).resolve().parents[2]
AIBT = str(Path(sys.executable).with_name("aibt"))

# --- the bare endpoint -------------------------------------------------------------------------------------

CALLER = """SELECT u.email, EXISTS (SELECT 1 FROM revoked_tokens t WHERE t.jti = $2) AS revoked
FROM users u WHERE u.id = $1"""

MODELS = """SELECT m.id, latest.status AS latest_status, latest.final_return AS latest_final_return,
       done.id AS run_id, done.mode, done.session, done.bar_interval,
       COALESCE(done.strategy_snapshot ->> 'initial_cash', m.initial_cash::text) AS initial_cash
FROM trading_models m
LEFT JOIN LATERAL (SELECT r.status, r.final_return FROM runs r WHERE r.model_id = m.id
                   ORDER BY r.run_number DESC LIMIT 1) latest ON true
LEFT JOIN LATERAL (SELECT r.id, r.mode, r.session, r.bar_interval, r.strategy_snapshot FROM runs r
                   WHERE r.model_id = m.id AND r.status = 'COMPLETED'
                   ORDER BY r.run_number DESC LIMIT 1) done ON true
WHERE m.owner_id = $1 ORDER BY m.id DESC LIMIT $2"""

CURVES = """SELECT run_id, date, value FROM equity_points WHERE run_id = ANY($1::int[]) ORDER BY run_id, timestamp"""


def bare_app():
    """Starlette + asyncpg: GET /models?first=N answers what PAGE_QUERY answers over GraphQL."""
    from contextlib import asynccontextmanager

    import asyncpg
    import jwt
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from db_models.metrics import compute_performance, periods_per_year, session_bars
    from db_models.settings import get_settings

    settings = get_settings()
    state: dict[str, asyncpg.Pool] = {}

    def unauthenticated() -> JSONResponse:
        return JSONResponse({"errors": [{"message": "Unauthenticated", "extensions": {"code": "UNAUTHENTICATED"}}]})

    def periods(mode: str, session: str | None, interval: str) -> int:
        if mode == "INTRADAY":
            return periods_per_year(mode, session_bars(session or "REGULAR", interval))
        return periods_per_year(mode)

    async def models(request: Request) -> JSONResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            claims = jwt.decode(
                token,
                settings.jwt_secret,
                algorithms=["HS256"],
                issuer=settings.jwt_issuer,
                options={"require": ["exp", "iat", "jti", "iss", "sub"]},
            )
            user_id = int(claims["sub"])
        except (jwt.InvalidTokenError, ValueError):
            return unauthenticated()
        first = int(request.query_params.get("first", 20))
        async with state["pool"].acquire() as conn:
            caller = await conn.fetchrow(CALLER, user_id, str(claims["jti"]))
            if scheme.lower() != "bearer" or caller is None or caller["revoked"]:
                return unauthenticated()
            rows = await conn.fetch(MODELS, user_id, first)
            run_ids = [row["run_id"] for row in rows if row["run_id"] is not None]
            curves: dict[int, list] = {}
            for point in await conn.fetch(CURVES, run_ids):
                curves.setdefault(point["run_id"], []).append((point["date"], point["value"]))
        edges = []
        for row in rows:
            performance = None
            if curves.get(row["run_id"]):
                figures = compute_performance(
                    Decimal(row["initial_cash"]),
                    curves[row["run_id"]],
                    [],
                    periods(row["mode"], row["session"], row["bar_interval"]),
                )
                performance = {
                    "totalReturn": figures.total_return,
                    "sharpeRatio": figures.sharpe_ratio,
                    "maxDrawdown": figures.max_drawdown,
                }
            latest = (
                None
                if row["latest_status"] is None
                else {"status": row["latest_status"], "finalReturn": row["latest_final_return"]}
            )
            edges.append(
                {"node": {"owner": {"email": caller["email"]}, "latestRun": latest, "performance": performance}}
            )
        return JSONResponse({"data": {"models": {"edges": edges}}})

    @asynccontextmanager
    async def lifespan(app):
        url = settings.database_url.replace("postgres://", "postgresql://", 1)
        async with asyncpg.create_pool(url, min_size=1, max_size=POOL_SIZE) as pool:
            state["pool"] = pool
            yield

    return Starlette(
        routes=[Route("/models", models), Route("/healthz", lambda _: JSONResponse({"ok": True}))], lifespan=lifespan
    )


def _serve_bare(port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app(), host="127.0.0.1", port=port, log_level="warning")


# --- servers and load --------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _process(command: list[str], port: int, log: Path) -> Iterator[tuple[str, int]]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PORT": str(port)}
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(process, url, log, what=" ".join(command))
            yield url, process.pid
        finally:
            process.terminate()
            process.wait(timeout=20)


async def _load(send, pid: int, seconds: float = SECONDS, clients: int = CLIENTS) -> tuple[int, float, float]:
    """Requests answered, seconds elapsed and CPU seconds the server process `pid` spent, with `clients`
    loops each sending one request after another on its own connection."""
    answered = 0
    warmed_up = 0
    all_warmed_up, start = asyncio.Event(), asyncio.Event()

    async def client() -> None:
        nonlocal answered, warmed_up
        async with httpx.AsyncClient(timeout=30) as http:
            await send(http)  # connect and warm up outside the measurement
            warmed_up += 1
            if warmed_up == clients:
                all_warmed_up.set()
            await start.wait()
            while time.perf_counter() < stop:
                await send(http)
                answered += 1

    tasks = [asyncio.create_task(client()) for _ in range(clients)]
    # The clock starts once every client is connected and answered: on a busy machine the warm-up
    # requests alone may take longer than a slice, and their CPU time must not count.
    warming = asyncio.create_task(all_warmed_up.wait())
    await asyncio.wait([warming, *tasks], return_when=asyncio.FIRST_COMPLETED)
    if not warming.done():  # a client failed: its error is raised here
        warming.cancel()
        await asyncio.gather(*tasks)
    cpu_began = cpu_seconds(pid)
    began = time.perf_counter()
    stop = began + seconds
    start.set()
    await asyncio.gather(*tasks)
    return answered, time.perf_counter() - began, cpu_seconds(pid) - cpu_began


# --- the benchmarks ----------------------------------------------------------------------------------------


async def page_statements(api, first: int, token: str) -> tuple[int, dict]:
    """The SQL statements the models page of `first` models costs the API, and its answer."""
    request_id = new_request_id()
    with count_sql(request_id) as statements:
        data = await api.data(PAGE_QUERY, {"first": first}, token=token, request_id=request_id)
    assert len(data["models"]["edges"]) == first
    return len(statements), data


@pytest.mark.timeout(600)
async def test_models_page_sql_and_throughput_beside_bare_starlette_asyncpg(api, user, tmp_path):
    await seed_model_page(await User.get(email=user.email), PAGE, days=60, prefix="bench")
    one, _ = await page_statements(api, 1, user.token)
    fifty, expected = await page_statements(api, PAGE, user.token)
    print(
        f"\n[{backend()}] models page (owner, latestRun, performance): SQL statements per request "
        f"{one} for first=1, {fifty} for first={PAGE}; bare endpoint: 3"
    )
    assert fifty == one <= MAX_STATEMENTS

    if backend() != "postgres":
        pytest.skip(
            "the bare Starlette + asyncpg endpoint needs PostgreSQL: "
            "run with AIBT_TEST_DATABASE=postgres for the throughput comparison"
        )

    from tests.support.server import free_port

    headers = {"Authorization": f"Bearer {user.token}"}
    body = {"query": PAGE_QUERY, "variables": {"first": PAGE}}
    api_port, bare_port = free_port(), free_port()
    with (
        _process(
            [AIBT, "serve", "--port", str(api_port), "--log-level", "warning"], api_port, tmp_path / "api.log"
        ) as (api_url, api_pid),
        _process([sys.executable, __file__, str(bare_port)], bare_port, tmp_path / "bare.log") as (bare_url, bare_pid),
    ):

        async def graphql(http: httpx.AsyncClient) -> None:
            response = await http.post(f"{api_url}/graphql", json=body, headers=headers)
            assert response.status_code == 200 and "errors" not in response.json(), response.text

        async def bare(http: httpx.AsyncClient) -> None:
            response = await http.get(f"{bare_url}/models", params={"first": PAGE}, headers=headers)
            assert response.status_code == 200 and "errors" not in response.json(), response.text

        async with httpx.AsyncClient(timeout=30) as http:
            served = (await http.post(f"{api_url}/graphql", json=body, headers=headers)).json()
            plain = (await http.get(f"{bare_url}/models", params={"first": PAGE}, headers=headers)).json()
        assert served == plain == {"data": expected}

        # Alternating slices, so that both servers see the same background load on this machine.
        slices: dict[str, list[tuple[int, float, float]]] = {"api": [], "bare": []}
        for _ in range(ROUNDS):
            slices["api"].append(await _load(graphql, api_pid, SECONDS / ROUNDS))
            slices["bare"].append(await _load(bare, bare_pid, SECONDS / ROUNDS))
    (api_rps, api_cpu), (bare_rps, bare_cpu) = (_figures(results) for results in slices.values())
    print(
        f"[{backend()}] {CLIENTS} clients x {SECONDS:.0f} s per server ({ROUNDS} alternating slices), "
        f"page of {PAGE}, per-slice req/s API {[round(n / s, 1) for n, s, _ in slices['api']]}, "
        f"bare {[round(n / s, 1) for n, s, _ in slices['bare']]}:\n  "
        f"GraphQL API {api_rps:.1f} req/s ({api_cpu:.1f} CPU ms per request), "
        f"bare Starlette + asyncpg {bare_rps:.1f} req/s ({bare_cpu:.1f} CPU ms per request);\n  "
        f"API / bare: throughput {api_rps / bare_rps:.2f} ({bare_rps / api_rps:.1f}x slower), "
        f"CPU per request {bare_cpu / api_cpu:.2f} ({api_cpu / bare_cpu:.1f}x more)"
    )
    assert api_rps > 0 and bare_rps > 0


def _figures(slices: list[tuple[int, float, float]]) -> tuple[float, float]:
    """Requests per second and CPU milliseconds per request over all slices."""
    answered = sum(n for n, _, _ in slices)
    assert answered > 0, "no request was answered within a slice: the machine is too busy to measure"
    return answered / sum(s for _, s, _ in slices), 1000 * sum(cpu for _, _, cpu in slices) / answered


if __name__ == "__main__":
    _serve_bare(int(sys.argv[1]))
