"""``hastate inventory``: a read-only inventory of a cluster's object stores and storage."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pytest_hastate.cli.common import Commands
from pytest_hastate.exit_codes import ExitCode


def register(commands: Commands) -> None:
    inventory = commands.add_parser(
        "inventory", help="read-only inventory of object stores and storage classes"
    )
    inventory.add_argument("--kubeconfig", type=Path, default=None)
    inventory.add_argument("--context", default=None)
    inventory.add_argument(
        "--profile", default=None,
        help="the policy profile whose hints classify what is found (default gloriousflywheel)",
    )  # fmt: skip
    inventory.add_argument(
        "--output", type=Path, default=None, help="write the JSON inventory here"
    )
    inventory.add_argument(
        "--fail-without-candidate", action="store_true",
        help="exit 11 when no conditional candidate is found",
    )  # fmt: skip
    inventory.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.errors import InventoryError
    from pytest_hastate.io.evidence import write_atomic
    from pytest_hastate.io.profiles import profile_for
    from pytest_hastate.tools.inventory import (
        NO_CANDIDATE,
        discover,
        kubernetes_lister,
        report,
        table,
    )

    started = time.monotonic()
    lister, source = kubernetes_lister(args.kubeconfig, args.context)
    try:
        surfaces, storage = discover(lister, profile_for(None, args.profile, Path.cwd()).model)
    except InventoryError as exc:
        print(f"hastate inventory: {exc}", file=sys.stderr)
        return exc.exit_code
    document = report(surfaces, storage, source)
    for line in table(document):
        print(line)
    print(f"inventory: read {source} in {time.monotonic() - started:.2f} s")
    if args.output is not None:
        write_atomic(args.output, json.dumps(document, indent=2) + "\n")
        print(f"inventory: written to {args.output}")
    if document["status"] == NO_CANDIDATE and args.fail_without_candidate:
        return ExitCode.NO_CANDIDATE
    return ExitCode.OK
