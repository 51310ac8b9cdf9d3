"""How the tools run the installed proof suite, and how they name evidence folders."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from pytest_hastate import resources


def proof_argv(evidence: Path, *args: str, python: str = sys.executable) -> list[str]:
    """pytest on the installed proof suite, its evidence into ``evidence``."""
    return resources.proof_argv("--evidence-dir", str(evidence), *args, python=python)


def utc_stamp() -> str:
    """Now, as the tools name evidence folders: 20261127t194356z."""
    return datetime.now(UTC).strftime("%Y%m%dt%H%M%Sz")
