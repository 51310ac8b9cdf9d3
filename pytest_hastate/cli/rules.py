"""``hastate rules``: the gates' rule tables, in Markdown."""

from __future__ import annotations

import argparse

from pytest_hastate.cli.common import Commands
from pytest_hastate.exit_codes import ExitCode


def register(commands: Commands) -> None:
    rules = commands.add_parser("rules", help="print the gates' rule tables (Markdown)")
    rules.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.gates.tables import rule_tables

    print(rule_tables())
    return ExitCode.OK
