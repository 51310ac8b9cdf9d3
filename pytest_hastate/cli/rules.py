"""``hastate rules``: the gates' rule tables (Markdown), or check / rewrite them in a file."""

from __future__ import annotations

import argparse
from pathlib import Path

from pytest_hastate.cli.common import Commands
from pytest_hastate.exit_codes import ExitCode


def register(commands: Commands) -> None:
    rules = commands.add_parser(
        "rules", help="the gates' rule tables (Markdown), or check them in a file"
    )
    rules.add_argument("--check", type=Path, default=None, help="fail if FILE's tables differ")
    rules.add_argument("--write", type=Path, default=None, help="rewrite the tables in FILE")
    rules.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.gates.tables import check_tables, rule_tables, write_tables

    if args.check is not None:
        problem = check_tables(args.check)
        if problem:
            print(f"{args.check}: {problem} (run: hastate rules --write {args.check})")
            return ExitCode.STOP
        return ExitCode.OK
    if args.write is not None:
        write_tables(args.write)
        print(f"wrote the rule tables into {args.write}")
        return ExitCode.OK
    print(rule_tables())
    return ExitCode.OK
