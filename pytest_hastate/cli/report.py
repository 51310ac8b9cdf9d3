"""``hastate report DIR``: one page for an operator, an auditor, a CI job summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytest_hastate.cli.common import Commands
from pytest_hastate.exit_codes import ExitCode


def register(commands: Commands) -> None:
    report = commands.add_parser(
        "report", help="one page from an evidence folder (Markdown for a CI job summary, or HTML)"
    )
    report.add_argument("dir", type=Path)
    report.add_argument("--format", choices=("markdown", "html"), default="markdown")
    report.add_argument(
        "--output", default=None,
        help="file to write (default DIR/report.md or DIR/report.html; - for stdout)",
    )  # fmt: skip
    report.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.io.evidence import write_atomic
    from pytest_hastate.tools.report import render

    text = render(args.dir, args.format)
    if args.output == "-":
        sys.stdout.write(text)
        return ExitCode.OK
    suffix = "md" if args.format == "markdown" else "html"
    target = Path(args.output) if args.output else args.dir / f"report.{suffix}"
    write_atomic(target, text)
    print(f"hastate report: wrote {target}")
    return ExitCode.OK
