"""The checked-in schema.graphql is the schema the server serves (tests/test_contract.py says whether a
difference breaks clients)."""

from pathlib import Path

from graphql_api.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_the_checked_in_schema_equals_the_served_one():
    assert SCHEMA_FILE.read_text().strip() == str(schema).strip(), (
        "schema.graphql is stale: run `aibt export-schema -o schema.graphql` and commit it "
        "(tests/test_contract.py lists any change that breaks clients)"
    )
