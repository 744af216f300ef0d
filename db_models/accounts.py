"""Users and the tokens they have revoked."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    USER = "USER"
    ADMIN = "ADMIN"


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, max_length=16, default=Role.USER)
    display_name = fields.CharField(max_length=100, null=True)
    avatar_url = fields.CharField(max_length=500, null=True)
    # Rises at each password change; a token carries the version it was issued under, so every token
    # issued before the change stops working at once.
    token_version = fields.IntField(default=0, db_default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "users"


class RevokedToken(Model):
    """A JWT revoked by logout, kept until it would have expired anyway."""

    jti = fields.CharField(max_length=64, primary_key=True)
    user = fields.ForeignKeyField("aibt.User", related_name="revoked_tokens", on_delete=fields.CASCADE)
    expires_at = fields.DatetimeField(db_index=True)
    revoked_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "revoked_tokens"
