"""The ``hastate`` command: operator entry points that work without pytest.

Exit codes: 0 passed (or ready); 1 refused by a gate, an evidence finding, or not ready (STOP,
or status moved on); 2 wrong command-line usage; 3 the lab could not do what was asked; 4 bad
input file (the same code pytest uses for usage errors); 10 not ready: INTERIM_ONLY;
inventory: 11 no candidate (with --fail-without-candidate), 12 API server unreachable, 13 forbidden.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_hastate.errors import InputError
from pytest_hastate.gates.files import gate_contract, gate_package, load_contract, load_package
from pytest_hastate.gates.text import GateReport

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 4
DEFAULT_SCHEMA_DIR = Path("contracts/schema")
DEFAULT_LAB_DIR = Path(".lab")
ENGINES = ("seaweedfs", "ceph")
EXIT_LAB = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hastate", description=__doc__.splitlines()[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_gate, _add_lab, _add_evidence, _add_readiness, _add_demo, _add_inventory,
        _add_migration_plan, _add_rules, _add_schema, _add_rca, _add_watch, _add_report,
    ):  # fmt: skip
        add(commands)
    return parser


def _add_report(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="one page from an evidence folder (Markdown for a CI job summary, or HTML)"
    )
    report.add_argument("dir", type=Path)
    report.add_argument("--format", choices=("markdown", "html"), default="markdown")
    report.add_argument(
        "--output", default=None,
        help="file to write (default DIR/report.md or DIR/report.html; - for stdout)",
    )  # fmt: skip


def _report(args: argparse.Namespace) -> int:
    from pytest_hastate.tools.report import render

    text = render(args.dir, args.format)
    if args.output == "-":
        sys.stdout.write(text)
        return EXIT_OK
    target = (
        Path(args.output)
        if args.output
        else args.dir / f"report.{'md' if args.format == 'markdown' else 'html'}"
    )
    target.write_text(text, "utf-8")
    print(f"hastate report: wrote {target}")
    return EXIT_OK


def _add_watch(commands: Any) -> None:
    from pytest_hastate.tools.watch_command import add_parser

    add_parser(commands)


def _add_gate(commands: Any) -> None:
    gate = commands.add_parser("gate", help="run a static gate on a document")
    gates = gate.add_subparsers(dest="gate", required=True)
    contract = gates.add_parser("contract", help="candidate contract gate (C01-C12)")
    contract.add_argument("file", nargs="?", type=Path)
    contract.add_argument("--contract", dest="file_option", type=Path, help="same as FILE")
    package = gates.add_parser("package", help="endpoint package gate (P01-P15)")
    package.add_argument("file", nargs="?", type=Path)
    package.add_argument(
        "--package", "--endpoint-package", dest="file_option", type=Path, help="same as FILE"
    )
    package.add_argument("--allow-template", action="store_true", help="accept template sentinels")


def _add_lab(commands: Any) -> None:
    lab = commands.add_parser(
        "lab", help="the local HA lab (a real SeaweedFS or Ceph RGW cluster on loopback)"
    )
    labs = lab.add_subparsers(dest="lab", required=True)
    for name, text in (
        ("up", "start a lab, seed tofu-state, write the package and env file"),
        ("down", "stop every process of the lab"),
        ("status", "show the lab's components and endpoints"),
        ("kill", "SIGKILL one component (s3-1, volume-2, master-leader, osd-1, ...)"),
        ("restart", "start one component again"),
    ):
        sub = labs.add_parser(name, help=text)
        sub.add_argument(
            "--dir",
            type=Path,
            default=DEFAULT_LAB_DIR,
            help=f"lab folder (default {DEFAULT_LAB_DIR})",
        )
        if name == "up":
            sub.add_argument("--topology", choices=("ha", "singleton"), default="ha")
            sub.add_argument(
                "--engine", choices=ENGINES, default="seaweedfs",
                help="seaweedfs (pip only, the default) or ceph (Debian's Ceph 16.2 packages)",
            )  # fmt: skip
        if name in ("kill", "restart"):
            sub.add_argument("component")


def _add_evidence(commands: Any) -> None:
    evidence = commands.add_parser("evidence", help="the evidence bundle")
    evidences = evidence.add_subparsers(dest="evidence", required=True)
    check = evidences.add_parser(
        "check", help="validate a bundle: schemas, phases, cleanup, no secrets"
    )
    check.add_argument("dir", type=Path)
    check.add_argument(
        "--require-failure-domain",
        action="store_true",
        help="a post-failure-domain phase must be present",
    )


def _add_readiness(commands: Any) -> None:
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


def _add_demo(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="the whole proof on a local lab, with an evidence bundle"
    )
    demo.add_argument("--topology", choices=("ha", "singleton"), default="ha")
    demo.add_argument("--engine", choices=ENGINES, default="seaweedfs")
    demo.add_argument(
        "--evidence",
        type=Path,
        default=Path("evidence"),
        help="the bundle goes into a new folder here",
    )
    demo.add_argument("--sample-objects", type=int, default=64)
    demo.add_argument("--verify-timeout", type=float, default=20.0)
    demo.add_argument(
        "--lose",
        choices=("s3-1", "s3-2"),
        default="s3-1",
        help="the gateway the ha maintenance kills (s3-1 serves the package's endpoint_url)",
    )


def _add_inventory(commands: Any) -> None:
    inventory = commands.add_parser(
        "inventory", help="read-only inventory of object stores and storage classes"
    )
    inventory.add_argument("--kubeconfig", type=Path, default=None)
    inventory.add_argument("--context", default=None)
    inventory.add_argument(
        "--output", type=Path, default=None, help="write the JSON inventory here"
    )
    inventory.add_argument(
        "--fail-without-candidate",
        action="store_true",
        help="exit 11 when no conditional candidate is found",
    )


def _add_migration_plan(commands: Any) -> None:
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


def _add_rules(commands: Any) -> None:
    rules = commands.add_parser(
        "rules", help="the gates' rule tables (Markdown), or check them in a file"
    )
    rules.add_argument("--check", type=Path, default=None, help="fail if FILE's tables differ")
    rules.add_argument("--write", type=Path, default=None, help="rewrite the tables in FILE")


def _add_schema(commands: Any) -> None:
    schema = commands.add_parser("schema", help="write or check the JSON Schemas of our documents")
    schema.add_argument("--dir", type=Path, default=DEFAULT_SCHEMA_DIR)
    schema.add_argument(
        "--check", action="store_true", help="fail if the files differ from the models"
    )


def _add_rca(commands: Any) -> None:
    rca = commands.add_parser(
        "rca",
        help="root-cause look at a store: the bucket-index probe and the store's own reports "
        "(other options go to pytest, e.g. --endpoint-package P)",
    )
    rca.add_argument("--scratch-probe", action="store_true", help="run the bucket-index probe")
    rca.add_argument("--since", default="30m", help="the window: 30m, 2h, 45s (default 30m)")
    rca.add_argument("--kubeconfig", type=Path, default=None)
    rca.add_argument("--context", default=None)
    rca.add_argument("--selector", default=None, help="the store's pods by label: k=v[,k=v]")
    rca.add_argument("--evidence", type=Path, default=Path("evidence"))


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


def _rules(args: argparse.Namespace) -> int:
    from pytest_hastate.gates.tables import check_tables, rule_tables, write_tables

    if args.check is not None:
        problem = check_tables(args.check)
        if problem:
            print(f"{args.check}: {problem} (run: hastate rules --write {args.check})")
            return EXIT_REFUSED
        return EXIT_OK
    if args.write is not None:
        write_tables(args.write)
        print(f"wrote the rule tables into {args.write}")
        return EXIT_OK
    print(rule_tables())
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from pytest_hastate.tools import schemas

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


def _migration_plan(args: argparse.Namespace) -> int:
    from pytest_hastate.errors import PlanRefused
    from pytest_hastate.tools.migration import make_plan

    started = time.monotonic()
    try:
        rendered = make_plan(
            load_package(args.endpoint_package), state_keys=args.state_key, stack=args.stack,
            target_bucket=args.target_bucket, evidence=args.evidence, output_dir=args.output_dir,
        )  # fmt: skip
    except PlanRefused as exc:
        print(f"hastate migration-plan: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"migration plan: backend config {rendered.backend_file}")
    print(f"migration plan: steps and rollback {rendered.plan_file}")
    print(
        f"migration plan: rendered in {time.monotonic() - started:.3f} s; review both files before running the steps"
    )
    return EXIT_OK


def _inventory(args: argparse.Namespace) -> int:
    import json

    from pytest_hastate.errors import InventoryError
    from pytest_hastate.io.evidence import write_atomic
    from pytest_hastate.tools.inventory import (
        EXIT_NO_CANDIDATE,
        NO_CANDIDATE,
        discover,
        kubernetes_lister,
        report,
        table,
    )

    started = time.monotonic()
    lister, source = kubernetes_lister(args.kubeconfig, args.context)
    try:
        surfaces, storage = discover(lister)
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
        return EXIT_NO_CANDIDATE
    return EXIT_OK


def _evidence(args: argparse.Namespace) -> int:
    import os

    from pytest_hastate.io.redact import Masker
    from pytest_hastate.tools.bundle import check_bundle

    findings = check_bundle(
        args.dir,
        masker=Masker.from_environment(os.environ),
        require_failure_domain=args.require_failure_domain,
    )
    for finding in findings:
        print(f"evidence {args.dir}: {finding}")
    if findings:
        return EXIT_REFUSED
    print(
        f"evidence {args.dir}: complete (phases, checkpoint, cleanup) and clean (no secrets, no private paths)"
    )
    return EXIT_OK


def _readiness(args: argparse.Namespace) -> int:
    from pytest_hastate.tools.bundle import readiness

    evidence = args.evidence
    if args.endpoint_package is not None:
        evidence = _capture(args.endpoint_package, args.evidence, args.expect_interim)
    result = readiness(evidence, expect_interim=args.expect_interim)
    print(f"readiness: {result.message}")
    return result.exit_code


def _capture(package: Path, root: Path, expect_interim: bool) -> Path:
    """The live proof without OpenTofu, into a fresh evidence folder; returns the folder."""
    import subprocess

    from pytest_hastate.tools.paths import proof_argv, utc_stamp

    folder = root / f"readiness-{utc_stamp()}"
    interim = ["--expect-interim"] if expect_interim else []
    subprocess.run(proof_argv(folder, "--endpoint-package", str(package), *interim), check=False)
    return folder


def _lab(args: argparse.Namespace) -> int:
    from pytest_hastate.lab import start
    from pytest_hastate.lab.artifacts import open_lab

    def say(line: str) -> None:
        print(line, flush=True)

    directory: Path = args.dir
    if args.lab == "up":
        t0 = time.monotonic()
        lab = start(directory, args.topology, engine=args.engine, progress=say)
        say(f"lab: {args.engine} {args.topology} lab up in {time.monotonic() - t0:.1f} s")
        say(f"lab: endpoints {' '.join(lab.endpoints)}")
        say(f"lab: package {lab.package_path}")
        say(f"lab: credentials: source {lab.env_path}")
        return EXIT_OK
    lab = open_lab(directory, progress=say)
    if args.lab == "down":
        stopped = lab.down()
        for line in stopped:
            say(f"lab: stopped {line}")
        if not stopped:
            say("lab: nothing was running")
        return EXIT_OK
    if args.lab == "status":
        running = lab.running()
        leader = lab.leader()
        for name, up in running.items():
            marks = (
                f" ({'raft ' if lab.engine == 'seaweedfs' else ''}leader)" if name == leader else ""
            )
            say(f"{name:10} {'running' if up else 'stopped'}{marks}")
        say(f"endpoints: {' '.join(lab.endpoints)}")
        return EXIT_OK if any(running.values()) else EXIT_LAB
    if args.lab == "kill":
        lab.kill(args.component)
        return EXIT_OK
    waited = lab.restart(args.component)
    say(f"lab: {args.component} ready again after {waited:.1f} s")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    from pytest_hastate.errors import HastateError, LabError

    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "rca":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command == "gate":
            return _gate(args, parser)
        if args.command == "lab":
            return _lab(args)
        if args.command == "migration-plan":
            return _migration_plan(args)
        if args.command == "inventory":
            return _inventory(args)
        if args.command == "evidence":
            return _evidence(args)
        if args.command == "readiness":
            return _readiness(args)
        if args.command == "rules":
            return _rules(args)
        if args.command == "rca":
            from pytest_hastate.tools.rca_command import run_rca

            return run_rca(args, extra, say=lambda line: print(line, flush=True))
        if args.command == "report":
            return _report(args)
        if args.command == "watch":
            from pytest_hastate.tools.watch_command import run_watch_command

            return run_watch_command(args, say=lambda line: print(line, flush=True))
        if args.command == "demo":
            from pytest_hastate.tools.demo import run_demo

            return run_demo(
                args.topology, engine=args.engine, evidence_root=args.evidence,
                sample_objects=args.sample_objects,
                verify_timeout=args.verify_timeout, lose=args.lose,
                say=lambda line: print(line, flush=True),
            )  # fmt: skip
        return _schema(args)
    except InputError as exc:
        print(f"hastate: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except LabError as exc:
        print(f"hastate: {exc}", file=sys.stderr)
        return EXIT_LAB
    except HastateError as exc:  # e.g. a guard refusal: one line, never a traceback
        print(f"hastate: {exc}", file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
