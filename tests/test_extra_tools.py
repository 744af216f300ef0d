"""External MCP servers (AIBT_EXTRA_MCP_SERVERS): a model that opts in gets their tools, a remote model calls
them, the run is marked and its snapshot names them; a model that does not opt in never sees them."""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.support import price_fixtures as px
from tests.support.external_mcp import configured, running_research_server, write_config
from tests.support.fake_openai import Turn, tool_results
from tests.support.server import free_port
from tests.test_runs import DAYS, make_model, start, wait_finished
from tools.credentials import HEADER
from tools.extra_servers import ExtraServersError, parse_extra_servers

RESEARCH_TOOL = "research_consensus_rating"
SET_EXTRA = "mutation($id: ID!, $names: [String!]) { updateModel(id: $id, input: {extraTools: $names}) { extraTools } }"
RUN = """query($id: ID!) { run(id: $id) { status error usedExternalTools strategySnapshot
  logs(first: 5) { edges { node { messages } } } } }"""
STATUS = "{ systemStatus { toolServers { name url healthy tools external } } }"


def asks_the_analysts(messages, tools) -> Turn:
    offered = {tool["function"]["name"] for tool in tools}
    done = [name for name, _ in tool_results(messages)]
    if RESEARCH_TOOL in offered and RESEARCH_TOOL not in done:
        return Turn("Asking the analysts first.", [(RESEARCH_TOOL, {"symbol": px.SYMBOL})])
    return Turn("Holding today.")


@pytest_asyncio.fixture
async def research(tmp_path):
    """The external server, configured as `research` (with its bearer token) for this process."""
    async with running_research_server() as server:
        config = write_config(tmp_path / "extra.json", {"research": {"url": server.url, "bearer_token": server.token}})
        async with configured(config):
            yield server


async def opted_in_model(api, user) -> str:
    model_id = await make_model(api, user, ai_model="openai/gpt-5", tickers=(px.SYMBOL,))
    updated = await api.data(SET_EXTRA, {"id": model_id, "names": ["research"]}, token=user.token)
    assert updated["updateModel"]["extraTools"] == ["research"]
    return model_id


async def test_an_opted_in_model_calls_the_external_tool_and_its_run_is_marked(api, user, market, remote_llm, research):
    remote_llm.policy = asks_the_analysts
    run = await start(api, user, await opted_in_model(api, user), end=DAYS[1])
    await wait_finished(run["id"], api, user)
    result = (await api.data(RUN, {"id": run["id"]}, token=user.token))["run"]

    assert result["status"] == "COMPLETED", result["error"]
    offered = {tool["function"]["name"] for tool in remote_llm.requests[0]["tools"]}
    assert RESEARCH_TOOL in offered and {"buy", "sell", "portfolio", "quote"} <= offered
    answers = [text for name, text in tool_results(remote_llm.requests[1]["messages"]) if name == RESEARCH_TOOL]
    assert answers == [f"{px.SYMBOL}: BUY, consensus of 12 analysts as of today"]
    assert research.calls == [px.SYMBOL, px.SYMBOL]  # one call on each of the two days
    assert all(seen["authorization"] == f"Bearer {research.token}" for seen in research.headers_seen)
    assert not any(HEADER.lower() in seen for seen in research.headers_seen)  # the run's credential stays home
    assert result["usedExternalTools"] is True
    assert result["strategySnapshot"]["external_servers"] == [{"name": "research", "url": research.url}]
    logged = str(result["logs"]["edges"][0]["node"]["messages"])
    assert RESEARCH_TOOL in logged and "consensus of 12 analysts" in logged


async def test_a_model_that_does_not_opt_in_never_sees_the_external_tools(api, user, market, remote_llm, research):
    remote_llm.policy = asks_the_analysts
    model_id = await make_model(api, user, ai_model="openai/gpt-5", tickers=(px.SYMBOL,))
    run = await start(api, user, model_id, end=DAYS[0])
    await wait_finished(run["id"], api, user)
    result = (await api.data(RUN, {"id": run["id"]}, token=user.token))["run"]

    assert result["status"] == "COMPLETED"
    offered = {tool["function"]["name"] for request in remote_llm.requests for tool in request["tools"]}
    assert "buy" in offered and not any(name.startswith("research_") for name in offered)
    assert research.calls == [] and research.headers_seen == []
    assert result["usedExternalTools"] is False and result["strategySnapshot"]["external_servers"] == []


async def test_extra_tools_must_name_configured_servers(api, user, research):
    model_id = await make_model(api, user)
    for names in (["nope"], ["math"]):
        error = await api.error(SET_EXTRA, {"id": model_id, "names": names}, token=user.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == "extraTools"
        assert f"{names[0]!r} is not a configured tool server (configured: research)" in error["message"]
    error = await api.error(SET_EXTRA, {"id": model_id, "names": None}, token=user.token)
    assert error["extensions"]["field"] == "extraTools"
    created = await api.error(
        'mutation($t: String!) { createModel(input: {name: "X", allowedTickers: [$t], aiModel: "local/momentum", '
        'extraTools: ["research", "filings"]}) { id } }',
        {"t": px.SYMBOL},
        token=user.token,
    )
    assert "'filings' is not a configured tool server" in created["message"]


async def test_a_run_whose_external_server_is_down_fails_with_a_readable_reason(
    api, user, market, remote_llm, research, tmp_path
):
    model_id = await opted_in_model(api, user)
    down = f"http://127.0.0.1:{free_port()}/mcp"
    async with configured(write_config(tmp_path / "down.json", {"research": {"url": down}})):
        run = await start(api, user, model_id, end=DAYS[0])
        result = await wait_finished(run["id"], api, user)

    assert result["status"] == "FAILED"
    assert result["error"].startswith(f"ToolServersUnavailable: The research tool server at {down} is unavailable")


async def test_system_status_shows_each_external_server_with_its_health_and_tools(api, admin, research, tmp_path):
    servers = {
        "research": {"url": f"{research.url}?key=q-secret", "bearer_token": research.token},
        "locked": {"url": research.url, "headers": {"Authorization": "Bearer wrong"}},
        "gone": {"url": f"http://127.0.0.1:{free_port()}/mcp"},
    }
    async with configured(write_config(tmp_path / "three.json", servers)):
        response = await api.execute(STATUS, token=admin.token)

    listed = {s["name"]: s for s in response["data"]["systemStatus"]["toolServers"]}
    assert listed["research"] == {
        "name": "research",
        "url": research.url,  # shown without its query string
        "healthy": True,
        "tools": ["consensus_rating"],
        "external": True,
    }
    assert (listed["locked"]["healthy"], listed["gone"]["healthy"]) == (False, False)
    assert not any(listed[name]["external"] for name in ("math", "search", "price", "trade"))
    assert "q-secret" not in str(response) and research.token not in str(response)


@pytest.mark.parametrize(
    ("servers", "reason"),
    [
        ('{"Research": {"url": "https://x/mcp"}}', "server name 'Research' must be lowercase"),
        ('{"trade": {"url": "https://x/mcp"}}', "'trade' is a built-in tool server's name"),
        ('{"r": {"url": "ftp://x/mcp"}}', "'r' needs a url like https://host/mcp"),
        ('{"r": {"url": "https://x/mcp", "token": "t"}}', "'r' has unknown keys (token)"),
        ('{"r": {"url": "https://x/mcp", "headers": {"X-Key": 5}}}', "'r' headers must map header names to strings"),
        ('{"r": {"url": "https://x/mcp", "bearer_token": " "}}', "'r' bearer_token must be a non-empty string"),
        ('["r"]', "expected an object of servers by name"),
        ("{", "not valid JSON"),
    ],
)
def test_a_malformed_servers_file_is_refused_with_its_reason(servers, reason):
    with pytest.raises(ExtraServersError, match=r"^extra\.json: ") as raised:
        parse_extra_servers(servers, "extra.json")
    assert reason in str(raised.value)


def test_headers_and_tokens_stay_out_of_reprs_and_shown_urls():
    (server,) = parse_extra_servers(
        '{"r": {"url": "https://user:pw@mcp.example.com:8443/mcp?key=k1", "bearer_token": "t1"}}', "extra.json"
    ).values()
    assert server.headers == {"Authorization": "Bearer t1"}
    assert server.public_url == "https://mcp.example.com:8443/mcp"
    assert "t1" not in repr(server) and "k1" not in server.public_url and "pw" not in server.public_url
