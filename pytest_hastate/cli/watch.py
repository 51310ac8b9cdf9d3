"""``hastate watch``: the watched maintenance window (recipe ``ha-state-maintenance-watch``).

Started after the pre-maintenance phase, it runs the watch workload until SIGINT / SIGTERM,
``--duration`` or ``--until-file``, and writes ``watch-<run-id>.jsonl`` into the evidence
folder, where the post-maintenance verify finds it and checks it. ``--mark TEXT`` appends a
mark (e.g. "killed s3-1") to the running watch's log and exits.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import time
from pathlib import Path
from typing import Any

from pytest_hastate.cli.common import Commands, say
from pytest_hastate.exit_codes import ExitCode
from pytest_hastate.scope.scratch import ScratchScope, scope_of

MAX_DURATION = 24 * 3600.0
"""A watch longer than a day is a mistake, not a maintenance window."""


def positive_seconds(text: str) -> float:
    """A finite number of seconds > 0 (argparse type: nan, inf, 0 and negatives are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0 or value > MAX_DURATION:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected seconds > 0 and <= {MAX_DURATION:.0f}"
        )
    return value


def positive_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected at least 1")
    return value


def register(commands: Commands) -> None:
    watch = commands.add_parser(
        "watch", help="watch the maintenance window: a bounded OpenTofu-like workload, recorded"
    )
    watch.add_argument("--endpoint-package", type=Path, required=True)
    watch.add_argument("--from-checkpoint", type=Path, required=True)
    watch.add_argument("--evidence-dir", type=Path, default=Path("evidence"))
    watch.add_argument(
        "--profile", default=None, help="the policy profile (default: the package's)"
    )
    watch.add_argument(
        "--duration", type=positive_seconds, default=None, help="stop after S seconds"
    )
    watch.add_argument("--until-file", type=Path, default=None, help="stop when this file appears")
    watch.add_argument(
        "--interval", type=positive_seconds, default=0.25, help="seconds between rounds"
    )
    watch.add_argument(
        "--timeout", type=positive_seconds, default=2.0, help="seconds per operation"
    )
    watch.add_argument("--max-ops", type=positive_count, default=50_000)
    watch.add_argument("--mark", default=None, help="append a mark to the running watch and exit")
    watch.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pytest_hastate.errors import InputError
    from pytest_hastate.gates.files import PACKAGE, gate_package, load_package
    from pytest_hastate.io.checkpoints import (
        check_checkpoint_scope,
        check_package_digest,
        check_profile_digest,
        load_checkpoint,
    )
    from pytest_hastate.io.documents import validate_model
    from pytest_hastate.io.profiles import profile_for
    from pytest_hastate.maintenance.watch_log import append_mark, log_path
    from pytest_hastate.models import EndpointPackage

    package_doc = load_package(args.endpoint_package)
    profile = profile_for(package_doc, args.profile, Path.cwd())
    gate = gate_package(
        package_doc, profile.model, allow_template=False, roots=(Path.cwd(),)
    ).report
    if not gate.passed:  # the proof's own gate: a refused package is never watched through
        for line in gate.lines():
            say(f"hastate watch: {line}")
        return ExitCode.STOP
    checkpoint = load_checkpoint(args.from_checkpoint)
    check_package_digest(checkpoint, package_doc, args.from_checkpoint)
    check_profile_digest(checkpoint, profile, args.from_checkpoint)
    package = validate_model(package_doc, PACKAGE, EndpointPackage)
    check_checkpoint_scope(checkpoint, package, profile.model, args.from_checkpoint)
    path = log_path(args.evidence_dir, checkpoint.run_id)
    if args.mark is not None:
        if not path.is_file():
            say(f"hastate watch: no watch log at {path}: start the watch first")
            return ExitCode.USAGE
        append_mark(path, args.mark)
        say(f"hastate watch: marked {args.mark!r} in {path}")
        return ExitCode.OK
    if path.exists():
        raise InputError(
            f"watch log {path}", "",
            f"exists: run {checkpoint.run_id} was already watched (a run is watched once; "
            "remove the file to watch it again)",
        )  # fmt: skip
    return _watch(args, package, scope_of(profile.model, package, checkpoint.run_id), path)


def _watch(args: argparse.Namespace, package: Any, scope: ScratchScope, path: Path) -> int:
    from pytest_hastate.maintenance.watch import Watch, WatchPlan
    from pytest_hastate.maintenance.watch_log import WatchHeader, WatchLog
    from pytest_hastate.s3.client import access_from, client

    run_id = scope.run_id
    access = access_from(package, args.endpoint_package, os.environ)
    clients = {
        e: client(access, scope, e, attempts=1, timeout=args.timeout) for e in access.endpoints
    }
    plan = WatchPlan(interval=args.interval, max_ops=args.max_ops, duration=args.duration,
                     until_file=str(args.until_file) if args.until_file else None)  # fmt: skip
    started = time.monotonic()
    header = WatchHeader(run_id, package.scratch_bucket, scope.run_prefix, list(access.endpoints),
                         time.time(), {"interval": plan.interval, "timeout": args.timeout,
                                       "max_ops": plan.max_ops})  # fmt: skip
    log = WatchLog(path, header)
    watch = Watch(clients, package.scratch_bucket, scope, log, plan, started)
    watch.progress = say
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: watch.stop.set())
    say(f"hastate watch: run {run_id}, {len(clients)} endpoint(s), log {path} (Ctrl-C stops)")
    why = watch.run()
    log.close(why, watch.now())
    say(f"hastate watch: stopped ({why}) after {watch.now():.1f} s, {log.count} operations")
    return ExitCode.OK
