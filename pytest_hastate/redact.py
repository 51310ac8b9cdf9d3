"""Keeps credential values out of everything pytest-hastate prints or stores."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pytest_hastate.models import CREDENTIAL_ENV_NAMES, SESSION_TOKEN_ENV

SECRET_ENV_NAMES = (
    CREDENTIAL_ENV_NAMES["access_key_env"],
    CREDENTIAL_ENV_NAMES["secret_key_env"],
    SESSION_TOKEN_ENV,
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
MASK = "***"


class Redactor:
    """Replaces known secret values with ``***``; longest first so overlaps stay masked."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Redactor:
        return cls(env[name] for name in SECRET_ENV_NAMES if env.get(name))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text
