"""What every ``hastate`` command module shares: how it registers, how it speaks."""

from __future__ import annotations

import argparse
import importlib
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


def register_generated(
    commands: Commands, name: str, *, help: str, default_dir: Path, tool: str, differs: str
) -> None:
    """A ``hastate <name> [--dir D] [--check]`` command for files generated from the code by
    ``pytest_hastate.tools.<tool>`` (its ``drift`` and ``write``), imported only when run."""
    parser = commands.add_parser(name, help=help)
    parser.add_argument("--dir", type=Path, default=default_dir)
    parser.add_argument("--check", action="store_true", help=f"fail if {differs}")

    def run(args: argparse.Namespace) -> int:
        module = importlib.import_module(f"pytest_hastate.tools.{tool}")
        return check_or_write(
            args.dir, check=args.check, drift=module.drift, write=module.write,
            command=f"hastate {name}",
        )  # fmt: skip

    parser.set_defaults(handler=run)
