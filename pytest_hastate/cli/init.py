"""``hastate init``: a starter candidate contract and endpoint package for your endpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from pytest_hastate.cli.common import Commands, say
from pytest_hastate.exit_codes import ExitCode


def register(commands: Commands) -> None:
    init = commands.add_parser(
        "init",
        help="write a starter candidate contract and endpoint package for your own endpoint, and "
        "list the fields you still must fill",
    )
    init.add_argument("--dir", type=Path, default=Path("."), help="where (default: here)")
    init.add_argument(
        "--endpoint", action="append", default=[], metavar="URL",
        help="an HTTPS endpoint of the backend; repeat for each independent endpoint (the first "
        "is endpoint_url)",
    )  # fmt: skip
    init.add_argument("--name", default=None, help="the package's name")
    init.add_argument("--region", default=None, help="the backend's region")
    init.add_argument("--scratch-bucket", default=None, help="the proof's own scratch bucket")
    init.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.tools.starter import Starter, write_starter

    starter = Starter(tuple(args.endpoint), args.name, args.region, args.scratch_bucket)
    package, contract, todo = write_starter(args.dir, starter)
    say(f"hastate init: wrote {contract} (the selected candidate contract: review every field)")
    say(f"hastate init: wrote {package}")
    if todo:
        say(
            f"hastate init: {len(todo)} field(s) still to fill in {package.name}: {', '.join(todo)}"
        )
    say(f"hastate init: then: hastate gate package {package} && hastate prove --endpoint-package "
        f"{package} --run-disposable-tofu --use-lockfile")  # fmt: skip
    return ExitCode.OK
