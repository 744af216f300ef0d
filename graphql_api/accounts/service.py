"""Creating accounts, checking credentials and changing roles: the rules the API and `aibt users create` share."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from db_models.accounts import Role, User
from graphql_api.accounts.validation import MAX_EMAIL, check_password, clean_display_name, clean_email
from graphql_api.auth import ApprovedUsers, hash_password, verify_password
from graphql_api.errors import Conflict, not_found
from graphql_api.ids import parse_global_id


def user_scope(viewer: User) -> dict[str, Any]:
    """The accounts a viewer may look up by ID, as `me` and `users` show them: their own, or any for an admin."""
    return {} if viewer.role == Role.ADMIN else {"id": viewer.id}


def _checked(email: str, password: str, display_name: str | None) -> tuple[str, str | None]:
    """The cleaned email and display name; BAD_USER_INPUT naming the first field that fails its rule."""
    email = clean_email(email)
    check_password(password)
    return email, clean_display_name(display_name)


async def _insert(email: str, password: str, display_name: str | None, role: Role) -> User:
    try:
        return await User.create(
            email=email, password_hash=await hash_password(password), role=role, display_name=display_name
        )
    except IntegrityError:
        raise Conflict(f"An account with email {email} already exists.", field="email") from None


async def create_user(email: str, password: str, display_name: str | None, *, role: Role) -> User:
    """An account an operator makes with the role they choose: the approved-users list does not apply."""
    email, display_name = _checked(email, password, display_name)
    return await _insert(email, password, display_name, role)


async def sign_up(email: str, password: str, display_name: str | None, approved: ApprovedUsers | None) -> User:
    """An account a visitor makes: USER, or with an approved-users list, listed emails only, with its role."""
    email, display_name = _checked(email, password, display_name)
    role = approved.role_for(email) if approved else Role.USER
    return await _insert(email, password, display_name, role)


async def authenticate(email: str, password: str) -> User | None:
    """The account these credentials open, or None; as slow for an unknown email as for a wrong password."""
    address = email.strip().lower()
    # No account holds a longer address (signup refuses it), and the column refuses to be searched with one.
    user = await User.get_or_none(email=address) if len(address) <= MAX_EMAIL else None
    if not await verify_password(user.password_hash if user else None, password):
        return None
    return user


async def set_role(user_id: str, role: Role) -> User:
    """Changes a user's role; the last admin cannot be demoted (CONFLICT)."""
    pk = parse_global_id("User", user_id, kind="user")
    async with in_transaction():
        target = await User.filter(id=pk).select_for_update().first()
        if target is None:
            raise not_found("user", user_id)
        if target.role == Role.ADMIN and role != Role.ADMIN and await User.filter(role=Role.ADMIN).count() <= 1:
            raise Conflict("The last admin cannot be demoted; promote another user first.")
        target.role = role
        await target.save(update_fields=["role", "updated_at"])
    return target
