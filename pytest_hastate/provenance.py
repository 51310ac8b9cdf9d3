"""What produced the evidence: pytest-hastate and its runtime (read from the installed
distributions, without importing them), the OpenTofu binary and what each endpoint said."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from importlib import metadata

from pytest_hastate.models import Provenance


def installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def produced_by(servers: Mapping[str, str], tofu: tuple[str, str] | None = None) -> Provenance:
    """``tofu`` is (binary path, "<product> <version>") when the run used OpenTofu."""
    return Provenance(
        pytest_hastate=installed("pytest-hastate") or "unknown",
        python=platform.python_version(),
        pytest=installed("pytest") or "unknown",
        boto3=installed("boto3"),
        botocore=installed("botocore"),
        tofu_binary=tofu[0] if tofu else None,
        tofu_version=tofu[1] if tofu else None,
        servers=dict(sorted(servers.items())),
    )
