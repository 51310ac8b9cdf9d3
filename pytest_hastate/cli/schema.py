"""``hastate schema``: write or check the JSON Schemas of our documents."""

from __future__ import annotations

from pathlib import Path

from pytest_hastate.cli.common import Commands, register_generated

DEFAULT_SCHEMA_DIR = Path("contracts/schema")


def register(commands: Commands) -> None:
    register_generated(
        commands, "schema", default_dir=DEFAULT_SCHEMA_DIR, tool="schemas",
        help="write or check the JSON Schemas of our documents",
        differs="the files differ from the models",
    )  # fmt: skip
