"""Nested fields are batched: the SQL a page costs does not grow with the page."""

from __future__ import annotations

from decimal import Decimal

from db_models.accounts import User
from db_models.trading import TradingModel
from tests.support.queries import count_sql

PAGE = "query($first: Int) { models(first: $first) { totalCount edges { node { id name owner { id email role } } } } }"
ALL_PAGE = "query($first: Int) { allModels(first: $first) { edges { node { id owner { email } } } } }"


async def _add_models(owner: User, count: int) -> None:
    await TradingModel.bulk_create([
        TradingModel(owner=owner, name=f"bulk {i}", signature=f"bulk-{i}", allowed_tickers=["AAPL"],
                     initial_cash=Decimal("10000"), ai_model="local/momentum", parameters={})
        for i in range(count)
    ])


async def _statements(api, query: str, first: int, token: str) -> int:
    with count_sql() as statements:
        data = await api.data(query, {"first": first}, token=token)
    assert len(next(iter(data.values()))["edges"]) == first
    return len(statements)


async def test_a_page_of_50_models_with_owners_costs_the_same_sql_as_a_page_of_1(api, user):
    await _add_models(await User.get(email=user.email), 50)
    one = await _statements(api, PAGE, 1, user.token)
    fifty = await _statements(api, PAGE, 50, user.token)
    # auth (revocation check, user) + count + page + one batched owner lookup
    assert fifty == one <= 5


async def test_admin_pages_over_many_owners_batch_their_owner_lookups(api, admin, signup):
    for _ in range(5):
        account = await signup("owner")
        await _add_models(await User.get(email=account.email), 10)
    one = await _statements(api, ALL_PAGE, 1, admin.token)
    fifty = await _statements(api, ALL_PAGE, 50, admin.token)
    assert fifty == one <= 5
