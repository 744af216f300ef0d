"""createModel, updateModel, deleteModel, model, models, allModels, aiModels."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from db_models.market import PriceBar, PriceInterval
from db_models.runs import Run, RunStatus, TradingMode
from db_models.trading import TradingModel

FIELDS = """id name signature description isActive allowedTickers initialCash aiModel
  parameters { temperature topP topK frequencyPenalty presencePenalty maxTokens }
  customRules customInstructions owner { id email } createdAt updatedAt"""
CREATE = f"mutation($input: CreateModelInput!) {{ createModel(input: $input) {{ {FIELDS} }} }}"
UPDATE = f"mutation($id: ID!, $input: UpdateModelInput!) {{ updateModel(id: $id, input: $input) {{ {FIELDS} }} }}"
DELETE = "mutation($id: ID!) { deleteModel(id: $id) }"
MODEL = f"query($id: ID!) {{ model(id: $id) {{ {FIELDS} }} }}"
MODELS = """query($first: Int, $after: String) { models(first: $first, after: $after) { totalCount
  edges { cursor node { id name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


def model_input(**overrides) -> dict:
    base = {"name": "Momentum Strategy", "allowedTickers": ["AAPL", "MSFT"], "aiModel": "local/momentum"}
    base.update(overrides)
    return base


async def create(api, account, **overrides) -> dict:
    return (await api.data(CREATE, {"input": model_input(**overrides)}, token=account.token))["createModel"]


async def snapshot(model_id: str) -> list[dict]:
    return [dict(row) for row in await TradingModel.all().order_by("id").values()]


async def test_create_model_with_every_field(api, user):
    created = await create(
        api,
        user,
        description="Buys strength",
        allowedTickers=["aapl", " MSFT ", "AAPL", "BRK.B"],
        initialCash=25000.5,
        aiModel="openai/gpt-5",
        customRules="No more than 3 trades a day",
        customInstructions="Think step by step",
        parameters={
            "temperature": 0.7,
            "topP": 0.9,
            "topK": 40,
            "frequencyPenalty": -0.5,
            "presencePenalty": 1.5,
            "maxTokens": 4096,
        },
    )
    assert created["name"] == "Momentum Strategy"
    assert created["signature"] == "momentum-strategy"
    assert created["allowedTickers"] == ["AAPL", "MSFT", "BRK.B"]
    assert created["initialCash"] == 25000.5
    assert created["isActive"] is True
    assert created["parameters"] == {
        "temperature": 0.7,
        "topP": 0.9,
        "topK": 40,
        "frequencyPenalty": -0.5,
        "presencePenalty": 1.5,
        "maxTokens": 4096,
    }
    assert created["owner"] == {"id": user.id, "email": user.email}
    row = await TradingModel.get(signature="momentum-strategy", owner__email=user.email)
    assert row.initial_cash == Decimal("25000.50")


async def test_create_model_defaults(api, user):
    created = await create(api, user)
    assert created["initialCash"] == 10000.0
    assert created["parameters"] == {k: None for k in created["parameters"]}
    assert created["description"] is None and created["customRules"] is None


async def test_signatures_are_unique_per_owner_and_independent_between_owners(api, user, other_user):
    first = await create(api, user, name="Momentum Strategy 1")
    second = await create(api, user, name="momentum  strategy 1!")
    third = await create(api, user, name="Momentum-Strategy-1")
    others = await create(api, other_user, name="Momentum Strategy 1")
    assert [first["signature"], second["signature"], third["signature"]] == [
        "momentum-strategy-1",
        "momentum-strategy-1-2",
        "momentum-strategy-1-3",
    ]
    assert others["signature"] == "momentum-strategy-1"


async def test_a_name_with_no_letters_still_gets_a_signature(api, user):
    assert (await create(api, user, name="€€€"))["signature"] == "model"


BAD_INPUTS = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "two\nlines"}, "name"),
    ({"initialCash": 0}, "initialCash"),
    ({"initialCash": -100}, "initialCash"),
    ({"initialCash": 1e12}, "initialCash"),
    ({"initialCash": 100.123}, "initialCash"),
    ({"aiModel": "openai/gpt-99"}, "aiModel"),
    ({"aiModel": ""}, "aiModel"),
    ({"allowedTickers": []}, "allowedTickers"),
    ({"allowedTickers": ["AAPL", "not a ticker"]}, "allowedTickers"),
    ({"allowedTickers": ["TOOLONGSYMBOL"]}, "allowedTickers"),
    ({"allowedTickers": ["$AAPL"]}, "allowedTickers"),
    ({"allowedTickers": [f"T{i}" for i in range(101)]}, "allowedTickers"),
    ({"parameters": {"temperature": 2.5}}, "temperature"),
    ({"parameters": {"temperature": -0.1}}, "temperature"),
    ({"parameters": {"topP": 1.5}}, "topP"),
    ({"parameters": {"topK": 0}}, "topK"),
    ({"parameters": {"maxTokens": 0}}, "maxTokens"),
    ({"parameters": {"maxTokens": 200001}}, "maxTokens"),
    ({"parameters": {"frequencyPenalty": 3}}, "frequencyPenalty"),
    ({"parameters": {"presencePenalty": -2.5}}, "presencePenalty"),
    ({"description": "d" * 2001}, "description"),
    ({"customRules": "r" * 20001}, "customRules"),
    ({"customInstructions": "bell\x07"}, "customInstructions"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_INPUTS)
async def test_create_model_rejects_bad_input_and_writes_nothing(api, user, overrides, field):
    before = await TradingModel.all().count()
    error = await api.error(CREATE, {"input": model_input(**overrides)}, token=user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert field in error["message"]
    assert await TradingModel.all().count() == before


async def test_create_model_needs_a_token(api):
    assert await api.error_code(CREATE, {"input": model_input()}) == "UNAUTHENTICATED"


async def test_once_prices_exist_a_ticker_without_prices_is_refused(api, user):
    bar = await PriceBar.create(
        symbol="AAPL",
        interval=PriceInterval.DAY,
        timestamp=dt.datetime(2025, 1, 2, 14, 30, tzinfo=dt.UTC),
        trade_date=dt.date(2025, 1, 2),
        open=Decimal("243.85"),
        close=Decimal("243.26"),
        source="test",
    )
    try:
        error = await api.error(CREATE, {"input": model_input(allowedTickers=["AAPL", "ZZZZ"])}, token=user.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "ZZZZ" in error["message"] and "AAPL" not in error["message"]
        assert (await create(api, user, allowedTickers=["aapl"]))["allowedTickers"] == ["AAPL"]
    finally:
        await bar.delete()


async def test_update_changes_only_the_given_fields(api, user):
    created = await create(api, user, parameters={"temperature": 0.5, "maxTokens": 1000}, customRules="keep")
    updated = (
        await api.data(
            UPDATE,
            {
                "id": created["id"],
                "input": {
                    "description": "now described",
                    "isActive": False,
                    "initialCash": 5000,
                    "parameters": {"topP": 0.5, "maxTokens": None},
                },
            },
            token=user.token,
        )
    )["updateModel"]
    assert updated["description"] == "now described"
    assert updated["isActive"] is False
    assert updated["initialCash"] == 5000.0
    assert updated["customRules"] == "keep"
    assert updated["parameters"]["temperature"] == 0.5
    assert updated["parameters"]["topP"] == 0.5
    assert updated["parameters"]["maxTokens"] is None
    assert updated["signature"] == created["signature"]
    assert updated["updatedAt"] >= created["updatedAt"]


async def test_renaming_rederives_a_free_signature(api, user):
    await create(api, user, name="Taken")
    created = await create(api, user, name="Original")
    updated = (await api.data(UPDATE, {"id": created["id"], "input": {"name": "Taken"}}, token=user.token))[
        "updateModel"
    ]
    assert (updated["name"], updated["signature"]) == ("Taken", "taken-2")


async def test_update_can_clear_optional_text(api, user):
    created = await create(api, user, description="something")
    updated = (await api.data(UPDATE, {"id": created["id"], "input": {"description": None}}, token=user.token))[
        "updateModel"
    ]
    assert updated["description"] is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": None}, "name"),
        ({"allowedTickers": None}, "allowedTickers"),
        ({"initialCash": None}, "initialCash"),
        ({"aiModel": None}, "aiModel"),
        ({"isActive": None}, "isActive"),
        *[(o, f) for o, f in BAD_INPUTS if "description" not in o],
    ],
)
async def test_update_rejects_bad_input_and_changes_nothing(api, user, overrides, field):
    created = await create(api, user)
    before = await TradingModel.get(id=(await TradingModel.filter(owner__email=user.email).first()).id).values()
    error = await api.error(UPDATE, {"id": created["id"], "input": overrides}, token=user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert field in error["message"]
    assert await TradingModel.get(id=before["id"]).values() == before


async def test_model_reads_back_what_was_created(api, user):
    created = await create(api, user)
    assert (await api.data(MODEL, {"id": created["id"]}, token=user.token))["model"] == created


async def test_delete_model_removes_it(api, user):
    created = await create(api, user)
    assert (await api.data(DELETE, {"id": created["id"]}, token=user.token))["deleteModel"] is True
    assert await api.error_code(MODEL, {"id": created["id"]}, token=user.token) == "NOT_FOUND"


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING])
async def test_a_model_with_an_active_run_cannot_be_deleted(api, user, status):
    created = await create(api, user)
    row = await TradingModel.get(owner__email=user.email)
    await Run.create(model=row, run_number=1, mode=TradingMode.DAILY, status=status)
    assert await api.error_code(DELETE, {"id": created["id"]}, token=user.token) == "CONFLICT"
    assert await TradingModel.exists(id=row.id)


async def test_deleting_a_model_removes_its_finished_runs(api, user):
    created = await create(api, user)
    row = await TradingModel.get(owner__email=user.email)
    await Run.create(model=row, run_number=1, mode=TradingMode.DAILY, status=RunStatus.COMPLETED)
    await api.data(DELETE, {"id": created["id"]}, token=user.token)
    assert not await Run.exists(model_id=row.id)


async def test_another_users_model_is_not_found_and_untouched(api, user, other_user):
    created = await create(api, user)
    before = await snapshot(created["id"])
    calls = [
        (MODEL, {"id": created["id"]}),
        (UPDATE, {"id": created["id"], "input": {"name": "stolen"}}),
        (DELETE, {"id": created["id"]}),
    ]
    for query, variables in calls:
        mine_missing = await api.error(
            query, {**variables, "id": "VHJhZGluZ01vZGVsOjk5OTk5OTk"}, token=other_user.token
        )
        theirs = await api.error(query, variables, token=other_user.token)
        assert theirs["extensions"]["code"] == mine_missing["extensions"]["code"] == "NOT_FOUND"
    assert await snapshot(created["id"]) == before


@pytest.mark.parametrize("bad_id", ["", "garbage", "VXNlcjox", "VHJhZGluZ01vZGVsOi0x", "VHJhZGluZ01vZGVsOmFiYw"])
async def test_malformed_ids_are_not_found(api, user, bad_id):
    assert await api.error_code(MODEL, {"id": bad_id}, token=user.token) == "NOT_FOUND"


async def test_models_lists_only_the_callers_models_newest_first_in_pages(api, user, other_user):
    names = [f"model {i}" for i in range(5)]
    for name in names:
        await create(api, user, name=name)
    await create(api, other_user, name="not mine")
    seen, after = [], None
    while True:
        page = (await api.data(MODELS, {"first": 2, "after": after}, token=user.token))["models"]
        assert page["totalCount"] == 5
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(names))


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 101}, "first"),
        ({"first": -1}, "first"),
        ({"after": "not-a-cursor"}, "after"),
    ],
)
async def test_models_rejects_bad_paging_arguments(api, user, variables, message):
    error = await api.error(MODELS, variables, token=user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]


async def test_all_models_is_for_admins_and_spans_owners(api, admin, user, other_user):
    await create(api, user)
    await create(api, other_user)
    query = "{ allModels(first: 100) { totalCount edges { node { owner { email } } } } }"
    assert await api.error_code(query, token=user.token) == "FORBIDDEN"
    data = (await api.data(query, token=admin.token))["allModels"]
    owners = {e["node"]["owner"]["email"] for e in data["edges"]}
    assert {user.email, other_user.email} <= owners
    assert data["totalCount"] == await TradingModel.all().count()


async def test_ai_models_lists_local_and_remote_models(api):
    models = (await api.data("{ aiModels { id provider local description } }"))["aiModels"]
    by_id = {m["id"]: m for m in models}
    for local_id in ("local/buy-and-hold", "local/momentum", "local/analyst"):
        assert by_id[local_id]["local"] is True
    assert by_id["openai/gpt-5"] == {**by_id["openai/gpt-5"], "provider": "openai", "local": False}


async def test_a_document_with_several_root_fields_answers_every_one(api, user):
    model = await create(api, user)
    document = """query($id: ID!) { models { totalCount } model(id: $id) { name } aiModels { id } me { id }
      again: models(first: 1) { totalCount } }"""
    data = await api.data(document, {"id": model["id"]}, token=user.token)
    assert data["models"]["totalCount"] == data["again"]["totalCount"] == 1
    assert data["model"]["name"] == model["name"] and data["aiModels"] and data["me"]
