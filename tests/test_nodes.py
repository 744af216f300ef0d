"""node(id) and nodes(ids): every object with a global ID found again by it, under its own type's rules."""

from __future__ import annotations

import base64

import pytest
import pytest_asyncio

from db_models.accounts import User
from db_models.price_fetches import PriceFetchJob
from tests.support.arena_helpers import DAYS, START_ARENA, arena_input, follow_arena
from tests.support.queries import count_sql, new_request_id
from tests.test_chat import ask, new_conversation
from tests.test_runs import make_model

pytestmark = pytest.mark.timeout(180)

# The fields each type shows, asked the same way through node and through the type's usual place.
# Fields of one name but different types are aliased apart, as one document needs them.
FIELDS = {
    "User": "email accountRole: role displayName",
    "TradingModel": "name aiModel allowedTickers",
    "Run": "runNumber runStatus: status totalTrades arena { id name }",
    "Position": "actionId action symbol amount price holdings",
    "ReasoningLog": "date messages",
    "Conversation": "title messageCount",
    "ChatMessage": "messageRole: role content",
    "Arena": "name arenaStatus: status runs { id }",
    "PriceFetchJob": "symbols jobStatus: status progress { current total }",
}
NODE = "query($id: ID!) { node(id: $id) { __typename id " + " ".join(
    f"... on {type_name} {{ {fields} }}" for type_name, fields in FIELDS.items()
)
NODE += " } }"
NODES = NODE.replace("query($id: ID!) { node(id: $id)", "query($ids: [ID!]!) { nodes(ids: $ids)")


def _usual(type_name: str) -> str:
    return f"__typename id {FIELDS[type_name]}"


USUAL_PLACES = {
    "User": ("query { me { %s } }", lambda data: data["me"]),
    "TradingModel": ("query($id: ID!) { model(id: $id) { %s } }", lambda data: data["model"]),
    "Run": ("query($id: ID!) { run(id: $id) { %s } }", lambda data: data["run"]),
    "Position": (
        "query($id: ID!) { run(id: $id) { positions(first: 1) { edges { node { %s } } } } }",
        lambda data: data["run"]["positions"]["edges"][0]["node"],
    ),
    "ReasoningLog": (
        "query($id: ID!) { run(id: $id) { logs(first: 1) { edges { node { %s } } } } }",
        lambda data: data["run"]["logs"]["edges"][0]["node"],
    ),
    "Conversation": ("query($id: ID!) { conversation(id: $id) { %s } }", lambda data: data["conversation"]),
    "ChatMessage": (
        "query($id: ID!) { conversation(id: $id) { messages(last: 1) { edges { node { %s } } } } }",
        lambda data: data["conversation"]["messages"]["edges"][0]["node"],
    ),
    "Arena": ("query($id: ID!) { arena(id: $id) { %s } }", lambda data: data["arena"]),
}
# Where each type's usual place starts: its own ID, or the ID of the object that lists it.
LISTED_BY = {"Position": "Run", "ReasoningLog": "Run", "ChatMessage": "Conversation"}


def _forged(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest_asyncio.fixture
async def world(api, ws_url, user, market):
    """One of each kind of object the user owns, made through the API, as the usual places show them."""
    buyer = await make_model(api, user)
    holder = await make_model(api, user, ai_model="local/momentum")
    arena = (await api.data(START_ARENA, arena_input("Nodes", [buyer, holder], end=DAYS[1]), token=user.token))[
        "startArena"
    ]
    events, error = await follow_arena(ws_url, user.token, arena["id"], after_seq=0)
    assert error is None and events[-1]["kind"] == "ENDED"
    run = arena["runs"][0]["id"]
    conversation = await new_conversation(api, user)
    await ask(api, ws_url, user, conversation, "Which models do I have?")
    starts = {"User": None, "TradingModel": buyer, "Run": run, "Conversation": conversation, "Arena": arena["id"]}
    objects = {}
    for type_name, (document, pick) in USUAL_PLACES.items():
        start = starts[LISTED_BY.get(type_name, type_name)]
        variables = None if start is None else {"id": start}
        objects[type_name] = pick(await api.data(document % _usual(type_name), variables, token=user.token))
    assert objects["Position"]["action"] in ("BUY", "NO_TRADE") and objects["ChatMessage"]["messageRole"] == "ASSISTANT"
    return objects


@pytest_asyncio.fixture
async def price_fetch_job(user):
    job = await PriceFetchJob.create(
        requested_by=await User.get(email=user.email), symbols=["AAPL", "MSFT"], progress_total=2
    )
    yield job
    await job.delete()


async def _node(api, account, node_id: str) -> dict:
    return (await api.data(NODE, {"id": node_id}, token=account.token))["node"]


async def test_node_finds_every_kind_of_object_for_its_owner_with_the_fields_of_its_type(api, user, world):
    for type_name, expected in world.items():
        assert await _node(api, user, expected["id"]) == expected, type_name
    ids = [expected["id"] for expected in world.values()]
    assert (await api.data(NODES, {"ids": ids}, token=user.token))["nodes"] == list(world.values())


async def test_an_admin_finds_a_price_fetch_job_and_any_account_and_a_user_only_their_own(
    api, user, admin, price_fetch_job
):
    job = (
        await api.data(
            f"{{ priceFetchJobs(first: 1) {{ edges {{ node {{ {_usual('PriceFetchJob')} }} }} }} }}", token=admin.token
        )
    )["priceFetchJobs"]["edges"][0]["node"]
    assert job["symbols"] == ["AAPL", "MSFT"] and job["jobStatus"] == "QUEUED"
    assert await _node(api, admin, job["id"]) == job
    accounts = {
        account.email: (await api.data(f"{{ me {{ {_usual('User')} }} }}", token=account.token))["me"]
        for account in (user, admin)
    }
    assert await _node(api, admin, user.id) == accounts[user.email]  # as `users` shows every account to an admin
    assert await _node(api, user, user.id) == accounts[user.email]  # as `me`
    assert await api.error_code(NODE, {"id": admin.id}, token=user.token) == "NOT_FOUND"


async def test_a_price_fetch_job_is_forbidden_to_a_user_whether_or_not_it_exists(api, user, price_fetch_job):
    from graphql_api.ids import to_global_id

    for job_id in (to_global_id("PriceFetchJob", price_fetch_job.id), _forged("PriceFetchJob:2147483647")):
        error = await api.error(NODE, {"id": job_id}, token=user.token)
        assert error["extensions"]["code"] == "FORBIDDEN", error
        assert error["path"] == ["node"]


async def test_another_users_objects_are_not_found_through_node_or_nodes_and_no_field_leaks(
    api, other_user, admin, world
):
    for type_name, expected in world.items():
        error = await api.error(NODE, {"id": expected["id"]}, token=other_user.token)
        assert error["extensions"]["code"] == "NOT_FOUND", (type_name, error)
        assert error["message"].endswith(f"with id {expected['id']}.")
    body = await api.execute(NODES, {"ids": [e["id"] for e in world.values()]}, token=other_user.token)
    assert body["data"]["nodes"] == [None] * len(world)
    assert sorted(e["path"][1] for e in body["errors"]) == list(range(len(world)))
    assert {e["extensions"]["code"] for e in body["errors"]} == {"NOT_FOUND"}
    # An admin's own root fields open only their own models, runs, conversations and arenas: so does node.
    for type_name, expected in world.items():
        if type_name != "User":
            assert await api.error_code(NODE, {"id": expected["id"]}, token=admin.token) == "NOT_FOUND", type_name


MANGLED = [
    "",
    "x",
    "not base64 at all!",
    _forged("TradingModel"),
    _forged("TradingModel:"),
    _forged(":1"),
    _forged("TradingModel:abc"),
    _forged("TradingModel:1:2"),
    _forged("TradingModel:-1"),
    _forged("TradingModel:01"),
    _forged("TradingModel:2147483648"),
    _forged("NoSuchType:1"),
    _forged("cursor:1"),
    _forged("PageInfo:1"),
    base64.b64encode(b"\xff\xfe:1").decode(),
]


async def test_a_mangled_id_or_one_of_no_node_type_is_not_found(api, user):
    for value in MANGLED:
        error = await api.error(NODE, {"id": value}, token=user.token)
        assert error["extensions"]["code"] == "NOT_FOUND", (value, error)
    body = await api.execute(NODES, {"ids": MANGLED}, token=user.token)
    assert body["data"]["nodes"] == [None] * len(MANGLED)
    assert len(body["errors"]) == len(MANGLED)


async def test_the_id_of_a_deleted_object_is_not_found_nor_are_the_objects_deleted_with_it(api, user, world):
    await api.data(
        "mutation($id: ID!) { deleteConversation(id: $id) }", {"id": world["Conversation"]["id"]}, token=user.token
    )
    await api.data("mutation($id: ID!) { deleteArena(id: $id) }", {"id": world["Arena"]["id"]}, token=user.token)
    for type_name in ("Conversation", "ChatMessage", "Arena", "Run", "Position", "ReasoningLog"):
        error = await api.error(NODE, {"id": world[type_name]["id"]}, token=user.token)
        assert error["extensions"]["code"] == "NOT_FOUND", (type_name, error)
    assert await _node(api, user, world["TradingModel"]["id"]) == world["TradingModel"]  # untouched


async def test_nodes_keeps_the_order_and_answers_each_refused_id_at_its_index(api, user, other_user, world):
    mine = [world["Run"]["id"], world["ChatMessage"]["id"]]
    theirs = (await api.data("{ me { id } }", token=other_user.token))["me"]["id"]
    ids = [mine[0], theirs, "garbage", mine[1], mine[0]]
    body = await api.execute(NODES, {"ids": ids}, token=user.token)
    nodes = body["data"]["nodes"]
    assert nodes == [world["Run"], None, None, world["ChatMessage"], world["Run"]]
    assert sorted((e["path"], e["extensions"]["code"]) for e in body["errors"]) == [
        (["nodes", 1], "NOT_FOUND"),
        (["nodes", 2], "NOT_FOUND"),
    ]
    assert (await api.data(NODES, {"ids": []}, token=user.token))["nodes"] == []


async def test_nodes_takes_at_most_100_ids(api, user):
    run = _forged("Run:2147483647")
    assert len((await api.execute(NODES, {"ids": [run] * 100}, token=user.token))["data"]["nodes"]) == 100
    error = await api.error(NODES, {"ids": [run] * 101}, token=user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["field"] == "ids", error


async def test_node_and_nodes_need_a_signed_in_caller(api, world):
    for document, variables in ((NODE, {"id": world["Run"]["id"]}), (NODES, {"ids": [world["Run"]["id"]]})):
        assert await api.error_code(document, variables) == "UNAUTHENTICATED"


async def test_a_document_with_node_beside_other_root_fields_answers_every_one(api, user, world):
    document = """query($m: ID!, $c: ID!, $gone: ID!) {
      me { id }
      model: node(id: $m) { id ... on TradingModel { name } }
      message: node(id: $c) { __typename }
      missing: node(id: $gone) { id }
      models { totalCount }
      nodes(ids: [$m, $c]) { __typename }
    }"""
    variables = {"m": world["TradingModel"]["id"], "c": world["ChatMessage"]["id"], "gone": _forged("Run:0")}
    body = await api.execute(document, variables, token=user.token)
    data = body["data"]
    assert data["me"]["id"] == world["User"]["id"]
    assert data["model"] == {"id": world["TradingModel"]["id"], "name": world["TradingModel"]["name"]}
    assert data["message"] == {"__typename": "ChatMessage"} and data["missing"] is None
    assert data["models"]["totalCount"] == 2
    assert data["nodes"] == [{"__typename": "TradingModel"}, {"__typename": "ChatMessage"}]
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["missing"], "NOT_FOUND")]


async def _statements(api, account, ids: list[str]) -> int:
    request_id = new_request_id()
    with count_sql(request_id) as statements:
        nodes = (await api.data(NODES, {"ids": ids}, token=account.token, request_id=request_id))["nodes"]
    assert len(nodes) == len(ids) and all(nodes)
    return len(statements)


async def test_nodes_reads_each_type_once_whatever_the_number_of_ids(api, user, world):
    positions = (
        await api.data(
            "query($id: ID!) { run(id: $id) { positions(first: 100) { edges { node { id } } } } }",
            {"id": world["Run"]["id"]},
            token=user.token,
        )
    )["run"]["positions"]["edges"]
    assert len(positions) >= 2
    one = await _statements(api, user, [world["Position"]["id"]])
    many = await _statements(api, user, [edge["node"]["id"] for edge in positions])
    assert many == one
    # Several kinds at once: one more statement per kind.
    kinds = ("Position", "ReasoningLog", "ChatMessage", "TradingModel")
    assert await _statements(api, user, [world[t]["id"] for t in kinds]) == one + 3


async def test_a_selection_through_a_fragment_under_node_costs_what_it_costs_on_its_own_type(api, user, limits):
    limits(max_query_cost=1)  # every document is refused, with its estimated cost
    selection = "runs(first: 100) { edges { node { positions(first: 100) { edges { node { id } } } } } }"
    model = _forged("TradingModel:1")

    async def cost(document: str) -> int:
        error = await api.error(document, token=user.token)
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error
        return error["extensions"]["cost"]

    direct = await cost(f'{{ model(id: "{model}") {{ {selection} }} }}')
    assert direct > 10_000
    assert await cost(f'{{ node(id: "{model}") {{ ... on TradingModel {{ {selection} }} }} }}') == direct
    spread = f'{{ node(id: "{model}") {{ ...M }} }} fragment M on TradingModel {{ {selection} }}'
    assert await cost(spread) == direct
    three = f'{{ nodes(ids: ["{model}", "a", "b"]) {{ ... on TradingModel {{ {selection} }} }} }}'
    assert await cost(three) == 3 * direct
