"""What every ``hastate`` command module shares: how it registers, how it speaks."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from pytest_hastate.exit_codes import ExitCode

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The ``hastate`` subcommands; each command module adds its parser with ``register``."""


def say(line: str) -> None:
    """A progress or result line, at once (commands run for minutes)."""
    print(line, flush=True)


def check_or_write(
    folder: Path,
    *,
    check: bool,
    drift: Callable[[Path], list[str]],
    write: Callable[[Path], list[Path]],
    command: str,
) -> int:
    """Generated files: with ``check``, name each one that differs from the code (exit 1);
    else write them all."""
    if check:
        stale = drift(folder)
        for name in stale:
            print(f"{folder / name}: differs from the code (run: {command} --dir {folder})")
        return ExitCode.STOP if stale else ExitCode.OK
    for path in write(folder):
        print(f"wrote {path}")
    return ExitCode.OK
