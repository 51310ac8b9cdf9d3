"""How the proof reaches the backend (``S3Access``), read from the package and the
environment before any request; and the warm-up of the first client. No boto3 here: a run
learns whether its credentials are there without waiting for boto3 to load."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_hastate.errors import InputError
from pytest_hastate.models import SESSION_TOKEN_ENV, EndpointPackage

if TYPE_CHECKING:
    from pytest_hastate.scope.scratch import ScratchScope


@dataclass(frozen=True)
class S3Access:
    """How to reach the backend; the secret never appears in repr or str."""

    endpoints: tuple[str, ...]
    region: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    verify: str | bool = True
    path_style: bool = False
    checksum_when_required: bool = False

    @property
    def primary(self) -> str:
        return self.endpoints[0]


def access_from(package: EndpointPackage, package_path: Path, env: Mapping[str, str]) -> S3Access:
    """Build the access from the package and the environment, or refuse before any call.

    A variable set to the empty string counts as unset: CI systems export an undefined
    variable (``${{ vars.NAME }}``, an unset CI/CD variable) as "".
    """
    names = package.credential_injection
    source = "environment"
    for name, expected in (
        (names.endpoint_env, package.endpoint_url),
        (names.region_env, package.region),
    ):
        value = env.get(name) or None
        if value is not None and value != expected:
            hint = " (only a trailing '/' differs)" if value.rstrip("/") == expected else ""
            raise InputError(
                source, name,
                f"is set to {value!r}, which differs from the package's value {expected!r}"
                f"{hint}; unset it or fix the package",
            )  # fmt: skip
    missing = [n for n in (names.access_key_env, names.secret_key_env) if not env.get(n)]
    if missing:
        raise InputError(
            source,
            ", ".join(missing),
            "not set: the proof credentials come only from these variables",
        )
    verify: str | bool = True
    if package.ca_bundle:
        verify = str((package_path.parent / package.ca_bundle).resolve())
    elif env.get("AWS_CA_BUNDLE"):
        verify = env["AWS_CA_BUNDLE"]
    options = package.effective_backend_options
    return S3Access(
        endpoints=package.endpoints,
        region=package.region,
        access_key=env[names.access_key_env],
        secret_key=env[names.secret_key_env],
        session_token=env.get(SESSION_TOKEN_ENV) or None,
        verify=verify,
        path_style=bool(options.get("use_path_style", False)),
        checksum_when_required=bool(options.get("skip_s3_checksum", False)),
    )


def warm(access: S3Access, scope: Callable[[], ScratchScope]) -> threading.Thread:
    """Build one guarded client on a daemon thread and drop it, sending nothing: the first
    client of a process pays for importing boto3 (about 0.15 s of CPU) and for botocore's S3
    model, endpoint rules and client class (about 0.1 s), and here that is paid while the main
    thread waits on something else (the OpenTofu gate's processes). The clients built after it
    share what it loaded."""

    def build() -> None:
        with contextlib.suppress(Exception):  # the steps' own clients report what fails
            from pytest_hastate.s3.client import client  # boto3: imported here, on this thread

            client(access, scope())

    thread = threading.Thread(target=build, name="hastate-warm-client", daemon=True)
    thread.start()
    return thread
