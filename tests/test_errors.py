"""Every error carries a contract code and a request id; unexpected ones reveal nothing inside."""

from __future__ import annotations

import logging
import re

import pytest
from tortoise import connections

CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "RATE_LIMITED",
    "QUERY_TOO_COMPLEX",
    "UNAVAILABLE",
    "INTERNAL",
}


@pytest.mark.parametrize(
    "document",
    [
        "{ nosuchfield }",
        "{ models { ",
        "query($first: Int!) { models(first: $first) { totalCount } }",
        '{ models(first: "ten") { totalCount } }',
    ],
)
async def test_malformed_documents_are_bad_user_input(api, user, document):
    error = await api.error(document, token=user.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["requestId"]


async def test_an_unexpected_failure_is_internal_without_internals_and_logged_with_its_request_id(api, user, caplog):
    connection = connections.get("default")
    await connection.execute_script("ALTER TABLE trading_models RENAME TO trading_models_hidden")
    try:
        with caplog.at_level(logging.ERROR, logger="aibt.errors"):
            response = await api.http.post(
                "/graphql",
                json={"query": "{ models { totalCount } }"},
                headers={"Authorization": f"Bearer {user.token}"},
            )
    finally:
        await connection.execute_script("ALTER TABLE trading_models_hidden RENAME TO trading_models")
    body = response.json()
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL"
    request_id = error["extensions"]["requestId"]
    assert request_id == response.headers["x-request-id"]
    text = response.text.lower()
    for leak in ("trading_models", "select", "traceback", "/site-packages/", ".py", "operationalerror"):
        assert leak not in text, leak
    assert any(request_id in record.getMessage() and record.exc_info for record in caplog.records)


async def test_every_error_code_seen_is_from_the_contract(api, user):
    documents = ["{ users { totalCount } }", '{ model(id: "x") { id } }', "{ models(first: 1000) { totalCount } }"]
    for document in documents:
        for token in (None, user.token):
            body = await api.execute(document, token=token)
            for error in body.get("errors", []):
                assert error["extensions"]["code"] in CODES
                assert re.fullmatch(r"[0-9a-f]{32}", error["extensions"]["requestId"])
