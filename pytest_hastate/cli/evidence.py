"""``hastate evidence check DIR``: an evidence bundle is complete and clean."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pytest_hastate.cli.common import Commands
from pytest_hastate.exit_codes import ExitCode


def register(commands: Commands) -> None:
    evidence = commands.add_parser("evidence", help="the evidence bundle")
    evidences = evidence.add_subparsers(dest="evidence", required=True)
    check = evidences.add_parser(
        "check", help="validate a bundle: schemas, phases, cleanup, no secrets"
    )
    check.add_argument("dir", type=Path)
    check.add_argument(
        "--require-failure-domain", action="store_true",
        help="a post-failure-domain phase must be present",
    )  # fmt: skip
    check.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.io.redact import Masker
    from pytest_hastate.tools.bundle import check_bundle

    findings = check_bundle(
        args.dir, masker=Masker.from_environment(os.environ),
        require_failure_domain=args.require_failure_domain,
    )  # fmt: skip
    for finding in findings:
        print(f"evidence {args.dir}: {finding}")
    if findings:
        return ExitCode.STOP
    print(
        f"evidence {args.dir}: complete (phases, checkpoint, cleanup) and clean (no secrets, "
        "no private paths)"
    )
    return ExitCode.OK
