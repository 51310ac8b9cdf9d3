"""Where the repository's own files are (the proof suite the tools run), and how the tools run
it."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

PROOFS = Path(__file__).resolve().parents[2] / "proofs"
"""The proof suite of this checkout (the tools run it with pytest)."""


def proof_argv(evidence: Path, *args: str, python: str = sys.executable) -> list[str]:
    """pytest on the proof suite, its evidence into ``evidence``, no cache folder written."""
    return [python, "-m", "pytest", str(PROOFS), "--evidence-dir", str(evidence),
            "-p", "no:cacheprovider", *args]  # fmt: skip


def utc_stamp() -> str:
    """Now, as the tools name evidence folders: 20261127t194356z."""
    return datetime.now(UTC).strftime("%Y%m%dt%H%M%Sz")
