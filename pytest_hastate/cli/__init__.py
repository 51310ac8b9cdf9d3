"""The ``hastate`` command: operator entry points that work without pytest.

Each command is a module of this package that registers its parser and its handler
(``set_defaults(handler=...)``); every error the product raises on purpose carries its exit
code (``exit_codes.ExitCode``), and ``main`` maps it in one place.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pytest_hastate import __version__
from pytest_hastate.cli import (
    demo,
    evidence,
    gate,
    init,
    inventory,
    lab,
    migration_plan,
    prove,
    rca,
    readiness,
    reference,
    report,
    rules,
    schema,
    watch,
)
from pytest_hastate.errors import HastateError

COMMANDS = (
    prove, init, gate, demo, lab, watch, evidence, readiness, report, inventory,
    migration_plan, rca, rules, schema, reference,
)  # fmt: skip


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="hastate",
        description="Prove an S3-compatible backend is a high-availability OpenTofu state "
        "authority: GO, INTERIM_ONLY or STOP.",
    )
    top.add_argument(
        "--version", action="version", version=f"%(prog)s (pytest-hastate) {__version__}"
    )
    top.set_defaults(takes_pytest_options=False)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    top = parser()
    args, rest = top.parse_known_args(argv)
    if rest and not args.takes_pytest_options:
        top.error(f"unrecognized arguments: {' '.join(rest)}")
    args.pytest_options = rest
    try:
        return int(args.handler(args))
    except HastateError as exc:  # one line, never a traceback; the error knows its exit code
        print(f"hastate: {exc}", file=sys.stderr)
        return int(exc.exit_code)
