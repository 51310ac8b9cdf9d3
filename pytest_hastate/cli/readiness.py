"""``hastate readiness``: the verdict of the latest evidence (strict passes only on GO), or
capture evidence now and answer from it."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from pytest_hastate.cli.common import Commands


def register(commands: Commands) -> None:
    ready = commands.add_parser(
        "readiness", help="the verdict of the latest evidence: strict passes only on GO"
    )
    ready.add_argument("--evidence", type=Path, default=Path("evidence"))
    ready.add_argument(
        "--expect-interim", action="store_true", help="pass on INTERIM_ONLY, fail on GO and STOP"
    )
    ready.add_argument(
        "--endpoint-package", type=Path, default=None,
        help="capture evidence now: run the live steps that need no OpenTofu (boundary, scratch, "
        "bucket index) into a fresh folder under --evidence, and answer from it",
    )  # fmt: skip
    ready.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.tools.bundle import readiness

    evidence = args.evidence
    if args.endpoint_package is not None:
        evidence = capture(args.endpoint_package, args.evidence, args.expect_interim)
    result = readiness(evidence, expect_interim=args.expect_interim)
    print(f"readiness: {result.message}")
    return result.exit_code


def capture(package: Path, root: Path, expect_interim: bool) -> Path:
    """The live proof without OpenTofu, into a fresh evidence folder; returns the folder."""
    from pytest_hastate.tools.paths import proof_argv, utc_stamp

    folder = root / f"readiness-{utc_stamp()}"
    interim = ["--expect-interim"] if expect_interim else []
    subprocess.run(proof_argv(folder, "--endpoint-package", str(package), *interim), check=False)
    return folder
