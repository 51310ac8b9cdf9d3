"""The one masker: keeps credential values (and, where asked, private paths) out of everything
pytest-hastate prints, stores or copies — reports, junit XML, verdicts, checkpoints, OpenTofu
logs, the evidence bundle and the lab's logs — and finds them where they should not be."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_hastate.errors import hide_userinfo
from pytest_hastate.models import CREDENTIAL_ENV_NAMES, SESSION_TOKEN_ENV

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

SECRET_ENV_NAMES = (
    CREDENTIAL_ENV_NAMES["access_key_env"],
    CREDENTIAL_ENV_NAMES["secret_key_env"],
    SESSION_TOKEN_ENV,
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
MASK = "***"
MIN_SECRET = 4
"""Shorter values are not masked (masking "a" everywhere would say nothing and hide text)."""


class Masker:
    """Replaces known secret values with ``***`` (longest first, so overlaps stay masked) and
    optional private paths with placeholders."""

    def __init__(self, secrets: Iterable[str] = (), *, paths: Mapping[str, str] | None = None):
        self.secrets: tuple[str, ...] = tuple(
            sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)
        )
        self._paths = dict(paths or {})

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Masker:
        return cls(env[name] for name in SECRET_ENV_NAMES if env.get(name))

    def with_paths(self, paths: Mapping[str, str]) -> Masker:
        """The same secrets, plus private paths replaced (e.g. the lab folder by ``<lab>``)."""
        return Masker(self.secrets, paths={**self._paths, **paths})

    def __call__(self, text: str) -> str:
        text = hide_userinfo(text)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        for path, placeholder in sorted(self._paths.items(), key=lambda p: -len(p[0])):
            text = text.replace(path, placeholder)
        return text

    def leaks(self, text: str) -> bool:
        """True when ``text`` holds one of the secret values, or a URL's user-info."""
        return hide_userinfo(text) != text or any(secret in text for secret in self.secrets)

    def copy(self, source: Path, target: Path) -> None:
        """A masked copy of a text file (the lab's process logs into an evidence bundle)."""
        from pytest_hastate.io.evidence import write_atomic

        write_atomic(target, self(source.read_text("utf-8", errors="replace")))
