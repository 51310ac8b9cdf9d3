"""The ``hastate`` command: operator entry points that work without pytest.

Exit codes: 0 passed; 1 refused by a gate; 2 wrong command-line usage; 4 bad input file
(the same code pytest uses for usage errors).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pytest_hastate.errors import InputError
from pytest_hastate.findings import GateReport
from pytest_hastate.gating import gate_contract, gate_package, load_contract, load_package

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 4
DEFAULT_SCHEMA_DIR = Path("contracts/schema")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hastate", description=__doc__.splitlines()[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True)

    gate = commands.add_parser("gate", help="run a static gate on a document")
    gates = gate.add_subparsers(dest="gate", required=True)
    contract = gates.add_parser("contract", help="candidate contract gate (C01-C12)")
    contract.add_argument("file", nargs="?", type=Path)
    contract.add_argument("--contract", dest="file_option", type=Path, help="same as FILE")
    package = gates.add_parser("package", help="endpoint package gate (P01-P14)")
    package.add_argument("file", nargs="?", type=Path)
    package.add_argument(
        "--package", "--endpoint-package", dest="file_option", type=Path, help="same as FILE"
    )
    package.add_argument("--allow-template", action="store_true", help="accept template sentinels")

    schema = commands.add_parser("schema", help="write or check the JSON Schemas of our documents")
    schema.add_argument("--dir", type=Path, default=DEFAULT_SCHEMA_DIR)
    schema.add_argument(
        "--check", action="store_true", help="fail if the files differ from the models"
    )
    return parser


def _print_report(report: GateReport) -> int:
    for line in report.lines():
        print(line)
    if report.passed:
        return EXIT_OK
    print(f"REFUSED: {len(report.findings)} finding(s) by rules {', '.join(sorted(report.rules))}")
    return EXIT_REFUSED


def _gate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    path: Path | None = args.file or args.file_option
    if path is None or (args.file and args.file_option):
        parser.error(f"hastate gate {args.gate}: give exactly one FILE")
    if args.gate == "contract":
        return _print_report(gate_contract(load_contract(path)))
    run = gate_package(load_package(path), allow_template=args.allow_template, roots=(Path.cwd(),))
    return _print_report(run.report)


def _schema(args: argparse.Namespace) -> int:
    from pytest_hastate import schemas

    if args.check:
        stale = schemas.drift(args.dir)
        for name in stale:
            print(
                f"{args.dir / name}: differs from the models (run: hastate schema --dir {args.dir})"
            )
        return EXIT_REFUSED if stale else EXIT_OK
    for path in schemas.write(args.dir):
        print(f"wrote {path}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "gate":
            return _gate(args, parser)
        return _schema(args)
    except InputError as exc:
        print(f"hastate: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
