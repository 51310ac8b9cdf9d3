"""``hastate rca``: a root-cause look at a store. The bucket-index probe as a pytest run (other
options go to pytest), the store's pods, events and logs through a read-only reader; the RCA
printed and written into the evidence folder."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pytest_hastate.cli.common import Commands, say
from pytest_hastate.errors import InputError, InventoryError, MissingExtra
from pytest_hastate.io.evidence import write_atomic
from pytest_hastate.tools.paths import proof_argv, utc_stamp
from pytest_hastate.tools.rca import (
    PodFindings,
    ProbeResult,
    document,
    gather,
    parse_selector,
    parse_since,
    render,
    store_pods,
)


def register(commands: Commands) -> None:
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
    rca.set_defaults(handler=run, takes_pytest_options=True)


def run(args: argparse.Namespace) -> int:
    extra: Sequence[str] = args.pytest_options
    since = parse_since(args.since)
    selector = parse_selector(args.selector) if args.selector else None
    evidence = args.evidence / f"rca-{utc_stamp()}"
    code, probe = 0, ProbeResult(ran=False)
    if args.scratch_probe:
        code, probe = _probe(evidence, extra)
    pods, unavailable, source = _store(args, selector, since)
    doc = document(probe, pods, unavailable, source, since)
    write_atomic(evidence / "rca.json", json.dumps(doc, indent=2) + "\n")
    for line in render(doc):
        say(line)
    say(f"rca: written to {evidence / 'rca.json'}")
    return code


def _probe(evidence: Path, extra: Sequence[str]) -> tuple[int, ProbeResult]:
    code = subprocess.run(
        proof_argv(evidence, "-m", "bucket_index", *extra), check=False
    ).returncode
    verdict = evidence / "verdict.json"
    if not verdict.is_file():
        return code, ProbeResult(ran=False)
    record = json.loads(verdict.read_text("utf-8"))
    facts = record.get("facts") or {}
    criteria = {
        c: record["criteria"].get(c, "missing")
        for c in ("scratch.index_consistency", "scratch.bucket_lifecycle")
    }
    return code, ProbeResult(
        ran=True, verdict=record["verdict"], criteria=criteria, reasons=record["reasons"],
        views=facts.get("index_views") or {}, list_buckets=facts.get("list_buckets_evidence"),
    )  # fmt: skip


def _kubeconfig_available(kubeconfig: Path | None) -> bool:
    return bool(
        kubeconfig
        or os.environ.get("KUBECONFIG")
        or os.environ.get("KUBERNETES_SERVICE_HOST")
        or (Path.home() / ".kube" / "config").is_file()
    )


def _store(
    args: argparse.Namespace, selector: dict[str, str] | None, since: int
) -> tuple[list[PodFindings] | None, str | None, str | None]:
    if not _kubeconfig_available(args.kubeconfig):
        return (
            None,
            "no kubeconfig (give --kubeconfig FILE, set KUBECONFIG, or run in-cluster)",
            None,
        )
    from pytest_hastate.io.profiles import profile_for
    from pytest_hastate.tools.inventory import KubeReader

    try:
        reader = KubeReader(args.kubeconfig, args.context)
        pods = store_pods(reader, selector, profile_for(None, None, Path.cwd()).model)
        return gather(reader, pods, since, datetime.now(UTC)), None, reader.source
    except (InventoryError, InputError, MissingExtra) as exc:
        return None, str(exc), None
