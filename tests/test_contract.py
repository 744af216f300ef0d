"""The checked-in schema.graphql is the API contract: the served schema may add to it, never break it.

graphql-core compares the two. A breaking change (a type, field, argument or enum value removed, a type
changed, a required argument or input field added) fails with the list of what breaks; a dangerous one
(an enum value or optional argument added, a default changed: clients may behave differently) fails with
its list for review. To make either on purpose, re-export the schema (`aibt export-schema -o
schema.graphql`) and say why in the commit message (README, "Development").
"""

from __future__ import annotations

from pathlib import Path

from graphql import GraphQLSchema, build_schema, find_breaking_changes, find_dangerous_changes

from graphql_api.schema import schema as served_schema

CONTRACT = Path(__file__).resolve().parents[1] / "schema.graphql"
HOW_TO_CHANGE = (
    "If this is deliberate, re-export the contract (`aibt export-schema -o schema.graphql`) and say in the "
    "commit message why clients must change."
)


def breaking_changes(contract: GraphQLSchema, served: GraphQLSchema) -> list[str]:
    return [f"{change.type.name}: {change.description}" for change in find_breaking_changes(contract, served)]


def dangerous_changes(contract: GraphQLSchema, served: GraphQLSchema) -> list[str]:
    return [f"{change.type.name}: {change.description}" for change in find_dangerous_changes(contract, served)]


def contract_schema() -> GraphQLSchema:
    return build_schema(CONTRACT.read_text())


def served() -> GraphQLSchema:
    return build_schema(str(served_schema))


def test_the_served_schema_breaks_nothing_in_the_checked_in_contract():
    breaking = breaking_changes(contract_schema(), served())
    assert breaking == [], "The served schema breaks the contract in schema.graphql:\n" + "\n".join(
        [*breaking, HOW_TO_CHANGE]
    )


def test_the_served_schema_changes_nothing_dangerous_in_the_checked_in_contract():
    dangerous = dangerous_changes(contract_schema(), served())
    assert dangerous == [], "Review these changes to the contract in schema.graphql:\n" + "\n".join(
        [*dangerous, HOW_TO_CHANGE]
    )


def test_the_guard_catches_a_removed_field_a_changed_type_a_removed_argument_and_a_removed_enum_value():
    sdl = str(served_schema)
    altered_sdl = (
        sdl.replace("  description: String\n  isActive: Boolean!\n", "  isActive: Boolean!\n", 1)
        .replace("  signature: String!\n", "  signature: Int!\n", 1)
        .replace("models(first: Int = 20, after: String = null)", "models(first: Int = 20)", 1)
        .replace("  ADMIN\n", "", 1)
    )
    assert altered_sdl.count("\n") == sdl.count("\n") - 2  # each edit found its line

    breaking = breaking_changes(contract_schema(), build_schema(altered_sdl))

    assert sorted(breaking) == sorted(
        [
            "ARG_REMOVED: Argument Query.models(after:) was removed.",
            "FIELD_CHANGED_KIND: Field TradingModel.signature changed type from String! to Int!.",
            "FIELD_REMOVED: Field TradingModel.description was removed.",
            "VALUE_REMOVED_FROM_ENUM: Enum value Role.ADMIN was removed.",
        ]
    )


def test_additions_pass_the_guard_and_a_new_enum_value_or_optional_argument_is_flagged_as_dangerous():
    sdl = str(served_schema)
    extended = build_schema(
        sdl.replace("  signature: String!\n", "  signature: String!\n  nickname: String\n", 1)
        .replace("  ADMIN\n", "  ADMIN\n  AUDITOR\n", 1)
        .replace(
            "models(first: Int = 20, after: String = null)", "models(first: Int = 20, after: String = null, q: String)"
        )
        + "\ntype Badge {\n  name: String!\n}\n"
    )
    contract = contract_schema()

    assert breaking_changes(contract, extended) == []
    assert sorted(dangerous_changes(contract, extended)) == [
        "OPTIONAL_ARG_ADDED: An optional argument Query.models(q:) was added.",
        "VALUE_ADDED_TO_ENUM: Enum value Role.AUDITOR was added.",
    ]
