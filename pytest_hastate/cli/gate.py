"""``hastate gate contract|package FILE``: a static gate on one document."""

from __future__ import annotations

import argparse
from pathlib import Path

from pytest_hastate.cli.common import Commands
from pytest_hastate.exit_codes import ExitCode


def register(commands: Commands) -> None:
    gate = commands.add_parser("gate", help="run a static gate on a document")
    gates = gate.add_subparsers(dest="gate", required=True)
    contract = gates.add_parser("contract", help="candidate contract gate (C01-C12)")
    contract.add_argument("file", nargs="?", type=Path)
    contract.add_argument("--contract", dest="file_option", type=Path, help="same as FILE")
    contract.add_argument("--allow-template", action="store_true", help="accept template sentinels")
    package = gates.add_parser("package", help="endpoint package gate (P01-P16)")
    package.add_argument("file", nargs="?", type=Path)
    package.add_argument(
        "--package", "--endpoint-package", dest="file_option", type=Path, help="same as FILE"
    )
    package.add_argument("--allow-template", action="store_true", help="accept template sentinels")
    for sub, default in ((contract, "gloriousflywheel"),
                         (package, "the package's own, else gloriousflywheel")):  # fmt: skip
        sub.add_argument(
            "--profile", default=None,
            help="the policy profile: a shipped name (gloriousflywheel, generic) or a profile "
            f"file (default: {default})",
        )  # fmt: skip
        sub.set_defaults(handler=run, parser=sub)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.gates.files import gate_contract, gate_package, load_contract, load_package
    from pytest_hastate.io.profiles import check_against_package, profile_for

    path: Path | None = args.file or args.file_option
    if path is None or (args.file and args.file_option):
        args.parser.error(f"hastate gate {args.gate}: give exactly one FILE")
        raise AssertionError  # error() exits
    if args.gate == "contract":
        profile = profile_for(None, args.profile, Path.cwd()).model
        report = gate_contract(load_contract(path), profile, allow_template=args.allow_template)
    else:
        document = load_package(path)
        loaded = profile_for(document, args.profile, Path.cwd())
        check_against_package(loaded, document.data.get("scratch_bucket"))
        report = gate_package(
            document, loaded.model, allow_template=args.allow_template, roots=(Path.cwd(),)
        ).report
    for line in report.lines():
        print(line)
    if report.passed:
        return ExitCode.OK
    print(f"REFUSED: {len(report.findings)} finding(s) by rules {', '.join(sorted(report.rules))}")
    return ExitCode.STOP
