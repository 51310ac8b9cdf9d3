"""``hastate schema``: write or check the JSON Schemas of our documents."""

from __future__ import annotations

import argparse
from pathlib import Path

from pytest_hastate.cli.common import Commands, check_or_write

DEFAULT_SCHEMA_DIR = Path("contracts/schema")


def register(commands: Commands) -> None:
    schema = commands.add_parser("schema", help="write or check the JSON Schemas of our documents")
    schema.add_argument("--dir", type=Path, default=DEFAULT_SCHEMA_DIR)
    schema.add_argument(
        "--check", action="store_true", help="fail if the files differ from the models"
    )
    schema.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.tools import schemas

    return check_or_write(
        args.dir,
        check=args.check,
        drift=schemas.drift,
        write=schemas.write,
        command="hastate schema",
    )
