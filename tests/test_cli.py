"""The `aibt` command as a user runs it: serve on a fresh machine, migrate, users create, export-schema."""

from __future__ import annotations

import json

import httpx
import pytest

from graphql_api.schema import schema
from tests.support.processes import aibt_server, clean_env, run_aibt

SIGNUP = 'mutation($e: String!) { signup(email: $e, password: "long enough pw") { user { email role } } }'
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { email role } } }"


def _post(url: str, query: str, variables: dict) -> dict:
    return httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30).json()


@pytest.mark.database_independent  # an embedded server on its own SQLite file
def test_serve_with_no_settings_keeps_sqlite_in_the_default_data_dir(tmp_path):
    with aibt_server(clean_env(), tmp_path) as url:
        assert httpx.get(f"{url}/readyz").json()["checks"]["database"] == "ok"
        page = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"})
        assert "graphiql" in page.text.lower()
        body = _post(url, SIGNUP, {"e": "first@example.com"})
        assert body["data"]["signup"]["user"] == {"email": "first@example.com", "role": "USER"}
    assert (tmp_path / ".aibt" / "aibt.sqlite3").exists()
    assert (tmp_path / ".aibt" / "jwt_secret").exists()


@pytest.mark.database_independent  # an embedded server on its own SQLite file
def test_production_serves_no_graphiql(tmp_path):
    with aibt_server(clean_env(AIBT_ENV="production", AIBT_DATA_DIR=str(tmp_path / "d")), tmp_path) as url:
        page = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in page.text.lower()


@pytest.mark.database_independent  # an embedded server on its own SQLite file
def test_approved_users_decide_who_may_sign_up_and_who_is_admin(tmp_path):
    approved = tmp_path / "approved.json"
    approved.write_text(json.dumps({"admins": ["Boss@Example.com"], "users": ["worker@example.com"]}))
    env = clean_env(AIBT_APPROVED_USERS=str(approved), AIBT_DATA_DIR=str(tmp_path / "d"))
    with aibt_server(env, tmp_path) as url:
        assert _post(url, SIGNUP, {"e": "boss@example.com"})["data"]["signup"]["user"]["role"] == "ADMIN"
        assert _post(url, SIGNUP, {"e": "worker@example.com"})["data"]["signup"]["user"]["role"] == "USER"
        refused = _post(url, SIGNUP, {"e": "stranger@example.com"})
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.database_independent  # an embedded server on its own SQLite file
def test_a_malformed_approved_users_file_stops_the_server_with_a_clear_message(tmp_path):
    approved = tmp_path / "approved.json"
    approved.write_text('{"admins": "not a list"}')
    env = clean_env(AIBT_APPROVED_USERS=str(approved), AIBT_DATA_DIR=str(tmp_path / "d"))
    with pytest.raises(AssertionError, match="must be a list of emails"), aibt_server(env, tmp_path):
        pass


def test_migrate_is_idempotent_on_the_test_database(tmp_path, settings):
    env = clean_env(DATABASE_URL=settings.database_url, AIBT_DATA_DIR=str(tmp_path))
    for _ in range(2):
        result = run_aibt("migrate", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stdout


@pytest.mark.database_independent  # an embedded server on its own SQLite file
def test_users_create_makes_an_admin_who_can_log_in(tmp_path):
    env = clean_env(AIBT_DATA_DIR=str(tmp_path / "d"))
    result = run_aibt(
        "users", "create", "root@example.com", "--admin", "--password", "s3cret-enough", env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "ADMIN" in result.stdout
    again = run_aibt("users", "create", "root@example.com", "--password", "s3cret-enough", env=env, cwd=tmp_path)
    assert again.returncode != 0 and "already exists" in again.stderr
    bad = run_aibt("users", "create", "not-an-email", "--password", "s3cret-enough", env=env, cwd=tmp_path)
    assert bad.returncode != 0 and "email" in bad.stderr
    with aibt_server(env, tmp_path) as url:
        body = _post(url, LOGIN, {"e": "root@example.com", "p": "s3cret-enough"})
        assert body["data"]["login"]["user"]["role"] == "ADMIN"


@pytest.mark.database_independent  # an embedded server on its own SQLite file
def test_export_schema_prints_the_served_schema(tmp_path):
    result = run_aibt("export-schema", env=clean_env(AIBT_DATA_DIR=str(tmp_path)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(schema).strip()
    run_aibt(
        "export-schema", "-o", str(tmp_path / "out.graphql"), env=clean_env(AIBT_DATA_DIR=str(tmp_path)), cwd=tmp_path
    )
    assert (tmp_path / "out.graphql").read_text().strip() == str(schema).strip()
