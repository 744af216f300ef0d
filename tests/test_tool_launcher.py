"""The tool server launcher: ports, in-process start and stop, status checks, `aibt tools`, embedded serve."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import PASSWORD, SIGNUP
from tests.support.graphql_client import GraphQLClient
from tests.support.processes import AIBT, aibt_server, clean_env
from tests.support.run_helpers import START_DAILY
from tests.support.server import free_port
from tests.support.tool_servers import call_text, mcp_client, running_tool_servers, session_tools
from tools import launcher
from tools.launcher import ToolServerError, server_url, server_urls, start_tool_servers, tool_server_status

MATH_TOOLS = {"add", "subtract", "multiply", "divide", "percent_change", "calculate"}
SEARCH_TOOLS = {"search_news", "search_web"}


def test_servers_listen_on_their_default_ports_unless_configured(monkeypatch):
    for variable in ("AIBT_TOOLS_HOST", "AIBT_MATH_PORT", "AIBT_SEARCH_URL", "AIBT_TRADE_PORT"):
        monkeypatch.delenv(variable, raising=False)
    assert server_urls() == {
        "math": "http://127.0.0.1:8000/mcp",
        "search": "http://127.0.0.1:8001/mcp",
        "price": "http://127.0.0.1:8002/mcp",
        "trade": "http://127.0.0.1:8003/mcp",
    }
    monkeypatch.setenv("AIBT_MATH_PORT", "9100")
    monkeypatch.setenv("AIBT_TOOLS_HOST", "0.0.0.0")
    monkeypatch.setenv("AIBT_SEARCH_URL", "http://tools.internal:8001/mcp")
    assert server_url("math") == "http://127.0.0.1:9100/mcp"
    assert server_url("search") == "http://tools.internal:8001/mcp"
    with pytest.raises(ToolServerError, match="Unknown tool server 'weather'"):
        server_url("weather")


async def test_status_reports_healthy_servers_with_their_tools_and_a_silent_port_as_unhealthy(server_url):
    silent = f"http://127.0.0.1:{free_port()}/mcp"
    async with running_tool_servers("math", "search") as urls:
        started = time.perf_counter()
        statuses = await tool_server_status({**urls, "price": silent}, timeout=2)
        elapsed = time.perf_counter() - started
    by_name = {status.name: status for status in statuses}
    assert [status.name for status in statuses] == ["math", "search", "price"]
    assert by_name["math"].healthy and set(by_name["math"].tools) == MATH_TOOLS
    assert by_name["math"].url == urls["math"]
    assert by_name["search"].healthy and set(by_name["search"].tools) == SEARCH_TOOLS
    assert not by_name["price"].healthy and by_name["price"].tools == () and by_name["price"].error
    assert elapsed < 2.5


async def test_a_server_that_does_not_answer_in_time_is_unhealthy():
    with socket.socket() as listener:  # accepts connections but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"
        [status] = await tool_server_status({"math": url}, timeout=0.5)
    assert not status.healthy and status.error == "no answer within 0.5 s"


async def test_a_taken_port_is_a_clear_error_and_nothing_is_left_running():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        math_port = free_port()
        with pytest.raises(ToolServerError, match=f"cannot listen on 127.0.0.1:{port}.*AIBT_SEARCH_PORT"):
            await start_tool_servers(["math", "search"], ports={"math": math_port, "search": port})
    [status] = await tool_server_status({"math": f"http://127.0.0.1:{math_port}/mcp"}, timeout=0.5)
    assert not status.healthy


async def test_a_server_whose_module_is_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(launcher.DEFAULT_PORTS, "weather", 8009)
    with pytest.raises(ToolServerError, match=r"tools\.weather_server\) is not installed"):
        await start_tool_servers(["weather"], ports={"weather": 0})
    assert "weather" not in launcher.installed_servers()


async def test_stopped_servers_no_longer_answer():
    servers = await start_tool_servers(["math"], ports={"math": 0})
    async with session_tools(mcp_client(servers.urls), "math") as tools:
        assert await call_text(tools["add"], a=2, b=2) == "4"
    await servers.stop()
    [status] = await tool_server_status(servers.urls, timeout=0.5)
    assert not status.healthy


def _wait_healthy(urls: dict[str, str], process: subprocess.Popen, timeout: float = 30) -> list:
    deadline = time.monotonic() + timeout
    while True:
        statuses = asyncio.run(tool_server_status(urls, timeout=1))
        if all(status.healthy for status in statuses) or time.monotonic() > deadline or process.poll() is not None:
            return statuses
        time.sleep(0.2)


def _serve_tools(tmp_path, settings, names: list[str]) -> tuple[list, str]:
    """Runs `aibt tools NAMES...` on free ports until every server is healthy; its statuses and log."""
    ports = {name: free_port() for name in names or launcher.DEFAULT_PORTS}
    env = clean_env(
        DATABASE_URL=settings.database_url,
        AIBT_DATA_DIR=str(tmp_path),
        **{f"AIBT_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    )
    log = tmp_path / "tools.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [AIBT, "tools", *names], env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            statuses = _wait_healthy({name: f"http://127.0.0.1:{port}/mcp" for name, port in ports.items()}, process)
        finally:
            process.terminate()
            code = process.wait(timeout=20)
    assert code == 0, log.read_text()
    return statuses, log.read_text()


def test_aibt_tools_serves_the_chosen_servers_on_the_configured_ports(tmp_path, settings):
    statuses, log = _serve_tools(tmp_path, settings, ["math", "search"])
    assert all(status.healthy for status in statuses), log
    assert {status.name: set(status.tools) for status in statuses} == {"math": MATH_TOOLS, "search": SEARCH_TOOLS}
    assert f"math tool server at {statuses[0].url}" in log


def test_aibt_tools_serves_all_four_servers_by_default(tmp_path, settings):
    statuses, log = _serve_tools(tmp_path, settings, [])
    assert [status.name for status in statuses] == ["math", "search", "price", "trade"]
    assert all(status.healthy and status.tools for status in statuses), log


@pytest.mark.database_independent  # an embedded server on its own SQLite file
def test_aibt_tools_refuses_an_unknown_server_name(tmp_path):
    result = subprocess.run(
        [AIBT, "tools", "weather"],
        env=clean_env(AIBT_DATA_DIR=str(tmp_path)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "unknown tool server(s) weather" in result.stderr


@contextmanager
def occupied(ports: list[int]) -> Iterator[list[socket.socket]]:
    """Holds the ports (as another program would) for the duration; a port another process holds stays taken too."""
    held = []
    for port in ports:
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
            held.append(sock)
        except OSError:
            sock.close()
    try:
        yield held
    finally:
        for sock in held:
            sock.close()


def _port_is_taken(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@pytest.mark.database_independent  # an embedded server on its own SQLite file
async def test_embedded_serve_runs_a_backtest_with_the_default_tool_ports_taken(tmp_path):
    approved = tmp_path / "approved.json"
    approved.write_text(json.dumps({"admins": ["admin@example.com"], "users": []}))
    env = clean_env(AIBT_DATA_DIR=str(tmp_path / "d"), AIBT_START_TOOLS="1", AIBT_APPROVED_USERS=str(approved))
    ports = list(launcher.DEFAULT_PORTS.values())
    with occupied(ports), aibt_server(env, tmp_path) as url:
        assert all(_port_is_taken(port) for port in ports)
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = GraphQLClient(http)
            token = (await api.data(SIGNUP, {"email": "admin@example.com", "password": PASSWORD}))["signup"]["token"]
            status = (await api.data(STATUS, token=token))["systemStatus"]["toolServers"]
            assert {s["name"]: (s["url"], s["healthy"]) for s in status} == {
                name: (f"in-process://{name}", True) for name in launcher.DEFAULT_PORTS
            }
            assert set(next(s for s in status if s["name"] == "math")["tools"]) == MATH_TOOLS
            model = (await api.data(CREATE_MODEL, {"i": MOMENTUM}, token=token))["createModel"]["id"]
            dates = {"startDate": "2010-03-01", "endDate": "2010-03-31"}
            run = (await api.data(START_DAILY, {"model": model, "input": dates}, token=token))["startDailyRun"]
            result = await _finished(api, token, run["id"])
    assert result["status"] == "COMPLETED", result["error"]
    # Only the trade tool writes trades, and only for the run its credential names.
    assert result["totalTrades"] > 0
    assert result["performance"]["tradingDays"] == 23


STATUS = "{ systemStatus { toolServers { name url healthy tools } } }"
CREATE_MODEL = "mutation($i: CreateModelInput!) { createModel(input: $i) { id } }"
MOMENTUM = {"name": "Momentum", "allowedTickers": ["AAPL", "MSFT"], "aiModel": "local/momentum"}
RUN = "query($id: ID!) { run(id: $id) { status error totalTrades performance { tradingDays } } }"


async def _finished(api: GraphQLClient, token: str, run_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = (await api.data(RUN, {"id": run_id}, token=token))["run"]
        if run["status"] in ("COMPLETED", "FAILED", "CANCELLED") or time.monotonic() > deadline:
            return run
        await asyncio.sleep(0.2)
