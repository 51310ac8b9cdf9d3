"""Where the repository's own files are (the proof suite the tools run)."""

from __future__ import annotations

from pathlib import Path

PROOFS = Path(__file__).resolve().parents[2] / "proofs"
"""The proof suite of this checkout (the tools run it with pytest)."""
