"""``hastate migration-plan``: the protected migration of one stack (needs a GO)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pytest_hastate.cli.common import Commands
from pytest_hastate.exit_codes import ExitCode


def register(commands: Commands) -> None:
    plan = commands.add_parser(
        "migration-plan", help="plan the protected migration of one stack (needs a GO)"
    )
    plan.add_argument("--endpoint-package", type=Path, required=True)
    plan.add_argument(
        "--state-key", action="append", required=True, help="the stack's state key (one per plan)"
    )
    plan.add_argument("--stack", default=None, help="the stack the key must belong to")
    plan.add_argument("--target-bucket", required=True)
    plan.add_argument("--evidence", type=Path, default=Path("evidence"))
    plan.add_argument("--output-dir", type=Path, default=Path("migration"))
    plan.add_argument(
        "--profile", default=None, help="the policy profile (default: the package's own)"
    )
    plan.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.errors import PlanRefused
    from pytest_hastate.gates.files import load_package
    from pytest_hastate.io.profiles import profile_for
    from pytest_hastate.tools.migration import make_plan

    started = time.monotonic()
    try:
        document = load_package(args.endpoint_package)
        rendered = make_plan(
            document, profile_for(document, args.profile, Path.cwd()),
            state_keys=args.state_key, stack=args.stack, target_bucket=args.target_bucket,
            evidence=args.evidence, output_dir=args.output_dir,
        )  # fmt: skip
    except PlanRefused as exc:
        print(f"hastate migration-plan: refused: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"migration plan: backend config {rendered.backend_file}")
    print(f"migration plan: steps and rollback {rendered.plan_file}")
    print(
        f"migration plan: rendered in {time.monotonic() - started:.3f} s; review both files "
        "before running the steps"
    )
    return ExitCode.OK
