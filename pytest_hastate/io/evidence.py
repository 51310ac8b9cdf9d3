"""Writing evidence files: atomically, only what is non-secret, and never through a symbolic
link (a link planted in an evidence folder would send the evidence, or the secrets a masked
copy leaves out, wherever it points)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel

from pytest_hastate.errors import InputError

LINKED = "is a symbolic link: evidence is never written through a link (remove it)"


def refuse_link(path: Path) -> None:
    """``InputError`` (one line) when ``path`` is a symbolic link."""
    if path.is_symlink():
        raise InputError(str(path), "", LINKED)


def linked_entry(folder: Path) -> Path | None:
    """The first entry of an evidence folder (or of a folder in it) that is a symbolic link."""
    if not folder.is_dir():
        return None
    for entry in sorted(folder.rglob("*")):
        if entry.is_symlink():
            return entry
    return None


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and a rename: never half a file, never
    through a link."""
    refuse_link(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_model(path: Path, model: BaseModel) -> None:
    write_atomic(path, model.model_dump_json(indent=2) + "\n")


def open_append(path: Path) -> BinaryIO:
    """``path`` opened for appending bytes, created if missing; never through a link."""
    refuse_link(path)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(path, flags, 0o644), "ab")
