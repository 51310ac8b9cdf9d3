"""``hastate demo``: the whole proof on a local lab, with an evidence bundle."""

from __future__ import annotations

import argparse
from pathlib import Path

from pytest_hastate.cli.common import Commands, say
from pytest_hastate.cli.lab import ENGINES


def register(commands: Commands) -> None:
    demo = commands.add_parser(
        "demo", help="the whole proof on a local lab, with an evidence bundle"
    )
    demo.add_argument("--topology", choices=("ha", "singleton"), default="ha")
    demo.add_argument("--engine", choices=ENGINES, default="seaweedfs")
    demo.add_argument(
        "--evidence", type=Path, default=Path("evidence"),
        help="the bundle goes into a new folder here",
    )  # fmt: skip
    demo.add_argument("--sample-objects", type=int, default=64)
    demo.add_argument("--verify-timeout", type=float, default=20.0)
    demo.add_argument(
        "--lose", choices=("s3-1", "s3-2"), default="s3-1",
        help="the gateway the ha maintenance kills (s3-1 serves the package's endpoint_url)",
    )  # fmt: skip
    demo.add_argument(
        "--profile", default=None,
        help="run the demo under this policy profile (a shipped name or a profile file): the lab "
        "seeds its protected targets, its package names it",
    )  # fmt: skip
    demo.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.extras import require_lab

    require_lab(args.engine, "demo")
    from pytest_hastate.io.profiles import profile_for
    from pytest_hastate.tools.demo import run_demo

    profile = profile_for(None, args.profile, Path.cwd()) if args.profile else None
    return run_demo(
        args.topology, engine=args.engine, evidence_root=args.evidence,
        sample_objects=args.sample_objects, verify_timeout=args.verify_timeout, lose=args.lose,
        say=say, profile=profile,
    )  # fmt: skip
