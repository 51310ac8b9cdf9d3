"""``hastate schema``: write or check the JSON Schemas of our documents."""

from __future__ import annotations

import argparse
from pathlib import Path

from pytest_hastate.cli.common import Commands
from pytest_hastate.exit_codes import ExitCode

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

    if args.check:
        stale = schemas.drift(args.dir)
        for name in stale:
            print(
                f"{args.dir / name}: differs from the models (run: hastate schema --dir {args.dir})"
            )
        return ExitCode.STOP if stale else ExitCode.OK
    for path in schemas.write(args.dir):
        print(f"wrote {path}")
    return ExitCode.OK
