"""Constants and the strict base of every document model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

CREDENTIAL_ENV_NAMES = {
    "endpoint_env": "TOFU_HA_STATE_ENDPOINT",
    "region_env": "TOFU_HA_STATE_REGION",
    "access_key_env": "TOFU_HA_STATE_ACCESS_KEY",
    "secret_key_env": "TOFU_HA_STATE_SECRET_KEY",
}
SESSION_TOKEN_ENV = "TOFU_HA_STATE_SESSION_TOKEN"  # noqa: S105 (a variable name)
SECRET_KEY_NAMES = frozenset(  # field names that hold a secret: never in our documents
    {
        "access_key",
        "secret_key",
        "aws_access_key_id",
        "aws_secret_access_key",
        "password",
        "token",
        "credential_value",
        "secret_value",
    }
)


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
