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
    init.add_argument(
        "--profile", default=None,
        help="the policy profile the documents are written for: a shipped name "
        "(gloriousflywheel, the default; generic) or a profile file",
    )  # fmt: skip
    init.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.io.profiles import profile_for
    from pytest_hastate.tools.starter import Starter, write_starter

    profile = profile_for(None, args.profile, Path.cwd())
    starter = Starter(profile, tuple(args.endpoint), args.name, args.region, args.scratch_bucket)
    package, contract, todo_package, todo_contract = write_starter(args.dir, starter)
    say(f"hastate init: wrote {contract} and {package} (profile {profile.name})")
    for path, todo in ((package, todo_package), (contract, todo_contract)):
        if todo:
            say(f"hastate init: {len(todo)} field(s) still to fill in {path}: {', '.join(todo)}")
    classes = [c.name for c in profile.model.candidate_classes if c.posture != "rejected-final"]
    if classes:
        say(f"hastate init: candidate classes profile {profile.name} knows: {'; '.join(classes)}")
    named = "" if args.profile is None else f" --profile {args.profile}"
    say(f"hastate init: then: hastate gate contract {contract}{named} && hastate gate package "
        f"{package} && hastate prove --endpoint-package {package} --run-disposable-tofu "
        "--use-lockfile")  # fmt: skip
    return ExitCode.OK
