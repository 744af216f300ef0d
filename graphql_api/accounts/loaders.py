"""DataLoaders of accounts: one per way of looking a user up."""

from collections.abc import Sequence

from db_models.accounts import User


async def users_by_id(ids: Sequence[int]) -> list[User | None]:
    rows = {u.id: u for u in await User.filter(id__in=list(set(ids)))}
    return [rows.get(i) for i in ids]
