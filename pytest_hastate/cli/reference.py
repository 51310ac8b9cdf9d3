"""``hastate reference``: write or check the documentation's generated reference pages."""

from __future__ import annotations

from pathlib import Path

from pytest_hastate.cli.common import Commands, register_generated

DEFAULT_DIR = Path("docs/reference")


def register(commands: Commands) -> None:
    register_generated(
        commands, "reference", default_dir=DEFAULT_DIR, tool="reference",
        help="write or check the documentation's reference pages (options, steps and criteria, "
        "rules, exit codes, commands), generated from the code",
        differs="a page differs",
    )  # fmt: skip
