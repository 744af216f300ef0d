"""The served schema holds the contract in ../shared/api/schema.graphql, name for name and type for type.

Contract entries not built yet sit in PENDING; each later issue shrinks it. An entry that is served
correctly must leave PENDING, so the list never hides finished work.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
)

from graphql_api.schema import schema as served_schema

_CANDIDATES = [
    os.environ.get("AIBT_CONTRACT"),
    Path(__file__).resolve().parents[2] / "shared/api/schema.graphql",  # beside the checkout
    Path("/work/shared/api/schema.graphql"),  # this machine's shared folder, for clones elsewhere
]
CONTRACT = next((Path(c) for c in _CANDIDATES if c and Path(c).exists()), None)

PENDING: set[str] = set()  # every contract type and field is served


def _fields(named_type) -> dict[str, str]:
    """Field (or input field, or enum value) name -> a comparable signature."""
    if isinstance(named_type, (GraphQLObjectType, GraphQLInterfaceType)):
        return {
            name: f"{field.type}(" + ", ".join(f"{a}: {arg.type}" for a, arg in sorted(field.args.items())) + ")"
            for name, field in named_type.fields.items()
        }
    if isinstance(named_type, GraphQLInputObjectType):
        return {name: str(field.type) for name, field in named_type.fields.items()}
    if isinstance(named_type, GraphQLEnumType):
        return {name: name for name in named_type.values}
    return {}


def contract_differences(contract: GraphQLSchema, served: GraphQLSchema) -> dict[str, str]:
    """Every contract type or field the served schema lacks or types differently, with what differs."""
    differences: dict[str, str] = {}
    for name, contract_type in contract.type_map.items():
        if name.startswith("__"):
            continue
        served_type = served.type_map.get(name)
        if served_type is None:
            differences[name] = "missing"
            continue
        if type(served_type) is not type(contract_type):
            differences[name] = f"is a {type(served_type).__name__}, contract says {type(contract_type).__name__}"
            continue
        served_fields = _fields(served_type)
        for field, signature in _fields(contract_type).items():
            if field not in served_fields:
                differences[f"{name}.{field}"] = "missing"
            elif not _compatible(signature, served_fields[field], contract_type):
                differences[f"{name}.{field}"] = f"served {served_fields[field]}, contract {signature}"
    return differences


def _compatible(contract_signature: str, served_signature: str, contract_type) -> bool:
    if not isinstance(contract_type, (GraphQLObjectType, GraphQLInterfaceType)):
        return contract_signature == served_signature
    # The served field may add optional arguments; every contract argument must match exactly.
    contract_type_part, contract_args = contract_signature.split("(", 1)
    served_type_part, served_args = served_signature.split("(", 1)
    served_arg_set = set(filter(None, served_args.rstrip(")").split(", ")))
    contract_arg_set = set(filter(None, contract_args.rstrip(")").split(", ")))
    return contract_type_part == served_type_part and contract_arg_set <= served_arg_set


@pytest.fixture(scope="module")
def contract() -> GraphQLSchema:
    if CONTRACT is None:
        pytest.fail("The API contract ../shared/api/schema.graphql was not found; set AIBT_CONTRACT to its path.")
    return build_schema(CONTRACT.read_text())


@pytest.fixture(scope="module")
def served() -> GraphQLSchema:
    return build_schema(str(served_schema))


def _is_pending(key: str) -> bool:
    return key in PENDING or key.split(".")[0] in PENDING


def test_every_contract_type_and_field_is_served_with_its_type(contract, served):
    unexpected = {k: v for k, v in contract_differences(contract, served).items() if not _is_pending(k)}
    assert unexpected == {}


def test_pending_lists_only_what_is_still_missing(contract, served):
    differences = contract_differences(contract, served)
    done = sorted(k for k in PENDING if k not in differences and not any(d.startswith(k + ".") for d in differences))
    assert done == [], "served correctly now: remove from PENDING"


def test_the_contract_scalars_exist_in_the_served_schema(contract, served):
    for name, named_type in contract.type_map.items():
        if isinstance(named_type, GraphQLScalarType) and not _is_pending(name):
            assert name in served.type_map


def test_the_comparison_catches_a_changed_type_a_missing_argument_and_a_missing_value(contract):
    altered = build_schema(
        str(served_schema)
        .replace("  signature: String!\n", "  signature: Int!\n", 1)
        .replace("models(first: Int = 20, after: String = null)", "models(first: Int = 20)")
        .replace("  ADMIN\n", "", 1)
    )
    differences = contract_differences(contract, altered)
    assert "TradingModel.signature" in differences
    assert "Query.models" in differences
    assert "Role.ADMIN" in differences
