"""``hastate reference``: write or check the documentation's generated reference pages."""

from __future__ import annotations

import argparse
from pathlib import Path

from pytest_hastate.cli.common import Commands, check_or_write

DEFAULT_DIR = Path("docs/reference")


def register(commands: Commands) -> None:
    reference = commands.add_parser(
        "reference",
        help="write or check the documentation's reference pages (options, steps and criteria, "
        "rules, exit codes, commands), generated from the code",
    )
    reference.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    reference.add_argument("--check", action="store_true", help="fail if a page differs")
    reference.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.tools import reference

    return check_or_write(
        args.dir,
        check=args.check,
        drift=reference.drift,
        write=reference.write,
        command="hastate reference",
    )
